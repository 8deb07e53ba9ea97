import fs from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { loadLockObjectTypeEntry } from "../../locks/object-types.ts";
import {
  documentedEntries,
  expectedKind,
  getRegistry,
  isDeclaration,
  isTaskGroup,
  LOCK_OBJECT_TYPES_GROUP,
  loadTaskClass,
  RegistryError,
  renderEntryPointsMarkdown,
  type EntryPoint,
  type Registry,
} from "../../registry/index.ts";

interface Options {
  json?: boolean;
  markdown?: boolean;
  output?: string;
  check?: boolean;
}

function allEntries(registry: Registry): EntryPoint[] {
  return registry.groups().flatMap((g) => registry.entries(g));
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

/** Imports one active entry the way its consumer will, so `--check` catches what start-up would. */
async function checkEntry(registry: Registry, ep: EntryPoint): Promise<void> {
  if (ep.group === LOCK_OBJECT_TYPES_GROUP) return loadLockObjectTypeEntry(registry, ep);
  if (isTaskGroup(ep.group)) {
    await loadTaskClass(registry, ep);
    return;
  }
  await registry.load(ep, expectedKind(ep.group, ep.name));
}

async function check(registry: Registry): Promise<void> {
  const active = allEntries(registry).filter((ep) => ep.active && !isDeclaration(ep.group, ep.name));
  const failures: string[] = [];
  for (const ep of active) {
    try {
      await checkEntry(registry, ep);
      process.stdout.write(`ok    ${ep.group} ${ep.name} (${ep.package})\n`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      failures.push(message);
      process.stdout.write(`FAIL  ${ep.group} ${ep.name} (${ep.package})\n`);
      process.stderr.write(`${message}\n`);
    }
  }
  if (failures.length > 0) throw new RegistryError(`${failures.length} of ${active.length} entry points failed to load`);
  process.stdout.write(`all ${active.length} active entry points load\n`);
}

/** `diracx-tasks entrypoints`: the registry as seen from the application root. */
export function entrypointsCommand(): Command {
  return new Command("entrypoints")
    .option("--json", "print a JSON array of {group, name, package, value, active}")
    .option("--markdown", "write the entry-point reference document (Markdown)")
    .option("--output <file>", "with --markdown: write to this file instead of stdout")
    .option("--check", "import every active entry point and report every failure")
    .action(async (opts: Options) => {
      if (opts.output !== undefined && !opts.markdown) throw new RegistryError("--output is only valid with --markdown");
      const registry = await getRegistry();
      if (opts.markdown) {
        const text = renderEntryPointsMarkdown(documentedEntries(registry.appRoot));
        if (opts.output === undefined) process.stdout.write(text);
        else {
          fs.mkdirSync(path.dirname(path.resolve(opts.output)), { recursive: true });
          fs.writeFileSync(opts.output, text);
        }
        return;
      }
      if (opts.check) return check(registry);
      const entries = allEntries(registry);
      if (opts.json) {
        const rows = entries.map(({ group, name, package: pkg, value, active }) => ({ group, name, package: pkg, value, active }));
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      process.stdout.write(`application root: ${registry.appRoot}\n`);
      process.stdout.write(`extensions (priority order): ${registry.extensions.join(", ")}; core version ${registry.coreVersion}\n\n`);
      const rows = [["GROUP", "NAME", "PACKAGE", "VALUE", "ACTIVE"], ...entries.map((e) => [e.group, e.name, e.package, e.value, e.active ? "yes" : "no (overridden)"])];
      process.stdout.write(`${table(rows)}\n`);
    });
}
