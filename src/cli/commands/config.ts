import fsp from "node:fs/promises";
import { Command } from "commander";
import YAML from "yaml";
import { ConfigError } from "../../config/errors.ts";
import { parseConfig, resolveConfigLocation } from "../../config/source.ts";
import { ConfigSchema, listVOs, type ConfigSchemaType, type DiracxConfig } from "../../config/schema.ts";
import { TasksConfigSchema, type TasksConfig } from "../../config/tasks-config.ts";
import { DiracxError } from "../../errors.ts";
import { TaskRegistry } from "../../engine/task-registry.ts";
import { loadLockObjectTypes } from "../../locks/object-types.ts";
import { tasksConfigProblems } from "../../config/config-check.ts";
import { getRegistry } from "../../registry/index.ts";
import type { OutputStream } from "../ui.ts";
import type { CliContext } from "../context.ts";

export interface CommandIO {
  stdout: OutputStream;
  stderr: OutputStream;
}

async function readDoc(location: string, origin: string): Promise<{ file: string; text: string; data: unknown }> {
  const file = resolveConfigLocation(location, origin);
  let text: string;
  try {
    text = await fsp.readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError([`cannot read: ${(err as Error).message}`], { file, cause: err });
  }
  let data: unknown;
  try {
    data = YAML.parse(text);
  } catch {
    data = undefined; // parseConfig reports the syntax error with its position
  }
  return { file, text, data };
}

/**
 * Checks a configuration as every process reading it would, and more: the schema, then the
 * tasks configuration against the installed tasks, the VOs and the lock object types. Every
 * problem is listed (key path first); a ConfigError carries them.
 */
async function check(ctx: CliContext, location: string | undefined): Promise<{ file: string; tasksFile?: string; tasks: number }> {
  const registry = await getRegistry();
  await loadLockObjectTypes(registry);
  const taskRegistry = await TaskRegistry.load(registry);
  const main = ctx.configBackend?.backendUrl;
  const target = location ?? main;
  if (!target) throw new DiracxError("config check: give a file, or set DIRACX_CONFIG_BACKEND_URL");
  const doc = await readDoc(target, location ? "file" : "DIRACX_CONFIG_BACKEND_URL");
  const isTasksFile = typeof doc.data === "object" && doc.data !== null && !("Registry" in doc.data);
  let vos: string[] | undefined;
  let tasksConfig: TasksConfig | undefined;
  let tasksFile: string | undefined;
  if (isTasksFile) {
    // A DIRACX_TASKS_CONFIG file: the VOs come from the main document when one is set.
    tasksConfig = parseConfig(doc.text, TasksConfigSchema, doc.file);
    tasksFile = doc.file;
    if (main) {
      const m = await readDoc(main, "DIRACX_CONFIG_BACKEND_URL");
      vos = listVOs(parseConfig(m.text, ConfigSchema, m.file));
    }
  } else {
    const schema = (await registry.loadActive<unknown>("diracx", "config")) as ConfigSchemaType<DiracxConfig>;
    const config = parseConfig(doc.text, schema, doc.file);
    vos = listVOs(config);
    tasksConfig = config.Tasks;
    const own = location === undefined ? ctx.tasks.config : undefined;
    if (own) {
      const t = await readDoc(own, "DIRACX_TASKS_CONFIG");
      if (tasksConfig !== undefined) throw new ConfigError([`Tasks: also configured by DIRACX_TASKS_CONFIG (${t.file}); keep one of them`], { file: doc.file });
      tasksConfig = parseConfig(t.text, TasksConfigSchema, t.file);
      tasksFile = t.file;
    }
  }
  const problems = tasksConfigProblems(tasksConfig, taskRegistry, vos ?? []).filter((p) => vos !== undefined || !/: unknown VO /.test(p));
  if (problems.length > 0) throw new ConfigError(problems, { file: tasksFile ?? doc.file });
  const n = Object.keys(tasksConfig?.common ?? {}).length + Object.values(tasksConfig?.["vo-overrides"] ?? {}).reduce((a, t) => a + Object.keys(t).length, 0);
  return { file: doc.file, ...(tasksFile ? { tasksFile } : {}), tasks: n };
}

/** `diracx-tasks config check [file]`: for a deployment pipeline; non-zero exit on any problem. */
export function configCommand(ctx: CliContext, io: CommandIO = { stdout: process.stdout, stderr: process.stderr }): Command {
  const config = new Command("config").description("work with the DiracX configuration");
  config
    .command("check")
    .description("check a configuration document (or a DIRACX_TASKS_CONFIG file) against the installed tasks, VOs and lock types; lists every problem")
    .argument("[file]", "configuration file or directory (default: DIRACX_CONFIG_BACKEND_URL, with DIRACX_TASKS_CONFIG)")
    .action(async (file: string | undefined) => {
      try {
        const r = await check(ctx, file);
        io.stdout.write(`${r.tasksFile ?? r.file}: ok (${r.tasks} task entr${r.tasks === 1 ? "y" : "ies"} checked)\n`);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        const where = err.file ?? file ?? "configuration";
        for (const p of err.problems) io.stderr.write(`${where}: ${p}\n`);
        throw new DiracxError(`${where}: ${err.problems.length} problem${err.problems.length === 1 ? "" : "s"}`);
      }
    });
  return config;
}
