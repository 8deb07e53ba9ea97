// The tasks configuration's cross-checks, as an operator meets them: `config check`, a worker start, a hot reload.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";

const root = path.resolve(import.meta.dirname, "../..");
const appRoot = path.join(root, "test/fixtures/engine-app");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "config-check-"));
const write = (name: string, lines: string[]): string => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join("\n") + "\n");
  return file;
};

const BAD = [
  "Registry:",
  "  lhcb: {}",
  "Tasks:",
  "  common:",
  '    "test:Recordr": {}',
  '    "test:Recorder":',
  '      schedule: "*/5 * * * *"',
  "      limits:",
  "        perObject:",
  "          storage_element: { default: { concurrency: { limit: 2 } } }",
  "  vo-overrides:",
  "    lhcb:",
  '      "test:Recorder": { enabled: false }',
  "    atlas:",
  '      "test:Ticker": { enabled: false }',
];
const GOOD = ["Registry:", "  lhcb: {}", "Tasks:", "  common:", '    "test:Ticker": { enabled: false }'];

const { DIRACX_CONFIG_BACKEND_URL: _c, DIRACX_TASKS_CONFIG: _t, ...withoutConfig } = process.env;

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), ...args], {
    cwd: root,
    env: { ...withoutConfig, DIRACX_APP_ROOT: appRoot, DIRACX_TASKS_REDIS_URL: "redis://127.0.0.1:1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

const EXPECTED = [
  /Tasks\.common\.test:Recordr: unknown task \(did you mean 'test:Recorder'\?\)/,
  /Tasks\.common\.test:Recorder\.schedule: 'test:Recorder' is not a periodic task/,
  /Tasks\.common\.test:Recorder\.limits\.perObject\.storage_element: unknown lock object type/,
  /Tasks\.vo-overrides\.lhcb\.test:Recorder: 'test:Recorder' is not VO-aware/,
  /Tasks\.vo-overrides\.atlas: unknown VO \(Registry has: lhcb\)/,
  /Tasks\.vo-overrides\.atlas\.test:Ticker: 'test:Ticker' is not VO-aware/,
];

describe("tasks configuration cross-checks", () => {
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("config check lists every problem with its key path and exits non-zero", async () => {
    const r = await cli(["config", "check", write("bad.yaml", BAD)]);
    assert.equal(r.code, 1, r.stderr);
    for (const re of EXPECTED) assert.match(r.stderr, re);
    assert.match(r.stderr, /diracx-tasks: .*bad\.yaml: 6 problems\n$/);
    const ok = await cli(["config", "check", write("good.yaml", GOOD)]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /good\.yaml: ok \(1 task entry checked\)/);
  });

  it("checks a separate tasks file against the VOs of DIRACX_CONFIG_BACKEND_URL", async () => {
    const main = write("main.yaml", ["Registry:", "  lhcb: {}"]);
    const tasks = write("tasks.yaml", ["vo-overrides:", "  atlas:", '    "test:Recorder": { enabled: false }']);
    const r = await cli(["config", "check", tasks], { DIRACX_CONFIG_BACKEND_URL: main });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tasks\.yaml: Tasks\.vo-overrides\.atlas: unknown VO \(Registry has: lhcb\)/);
  });

  it("a worker refuses to start with a bad tasks configuration, listing every problem", async () => {
    const r = await cli(["worker", "--size", "small"], { DIRACX_CONFIG_BACKEND_URL: path.join(dir, "bad.yaml") });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^diracx-tasks: invalid configuration .*bad\.yaml: Tasks\.common\.test:Recordr: unknown task .*\(and 5 more problems\)\n/);
    for (const re of EXPECTED) assert.match(r.stderr, re);
  });

  it("a worker refuses to start without DIRACX_CONFIG_BACKEND_URL", async () => {
    const r = await cli(["worker", "--size", "small"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "diracx-tasks: a worker needs the DiracX configuration (VOs, task limits and overrides): set DIRACX_CONFIG_BACKEND_URL\n");
  });

  it("a scheduler refuses to start without DIRACX_CONFIG_BACKEND_URL, naming it", async () => {
    const r = await cli(["scheduler"], { DIRACX_TASKS_REDIS_URL: "redis://127.0.0.1:1" });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^diracx-tasks: .*DIRACX_CONFIG_BACKEND_URL is required but not set\n$/);
  });

  it("a reload with a cross-check problem is rejected; the previous configuration stays", async () => {
    const file = write("reload.yaml", GOOD);
    const { ConfigSource, TasksConfigSource } = await import("../../src/config/source.ts");
    const { loadRegistry } = await import("../../src/registry/index.ts");
    const { TaskRegistry } = await import("../../src/engine/task-registry.ts");
    const { checkTasksConfigSource } = await import("../../src/config/config-check.ts");
    const registry = await loadRegistry({ appRoot });
    const config = await ConfigSource.fromPath(file, undefined, { watch: false });
    const tasksConfig = await TasksConfigSource.fromEnv(config, {}, { watch: false });
    checkTasksConfigSource(tasksConfig, await TaskRegistry.load(registry));
    const errors: string[][] = [];
    tasksConfig.onError((e) => errors.push([...e.problems]));
    write("reload.yaml", BAD);
    assert.equal(await config.reload(), false);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.length, 6);
    assert.deepEqual(Object.keys(tasksConfig.current()?.common ?? {}), ["test:Ticker"], "the previous configuration is in force");
    config.close();
  });
});
