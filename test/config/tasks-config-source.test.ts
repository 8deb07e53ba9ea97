import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { ConfigSchema } from "../../src/config/schema.ts";
import { ConfigSource, TasksConfigSource } from "../../src/config/source.ts";
import { resolveTaskSettings, type TasksConfig } from "../../src/config/tasks-config.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-tasks-config-"));
const closers: Array<{ close(): void }> = [];
after(() => {
  for (const c of closers) c.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function write(text: string): string {
  const sub = path.join(dir, String(n++));
  fs.mkdirSync(sub);
  fs.writeFileSync(path.join(sub, "default.yml"), text);
  return path.join(sub, "default.yml");
}

async function main(text: string, opts = { watch: false }): Promise<ConfigSource> {
  const s = await ConfigSource.fromPath(write(text), ConfigSchema, opts);
  closers.push(s);
  return s;
}

const rateOf = (t: TasksConfig | undefined): number | undefined => resolveTaskSettings(t, "a:B").limits.rate?.limit;

describe("TasksConfigSource", () => {
  it("uses the Tasks section and reports only changes to it", async () => {
    const config = await main("Registry: { lhcb: {} }\nTasks:\n  common:\n    a:B: { limits: { rate: { limit: 1 } } }\n");
    const tasks = await TasksConfigSource.fromEnv(config, {});
    assert.equal(tasks.file, undefined);
    assert.equal(rateOf(tasks.current()), 1);
    const seen: Array<number | undefined> = [];
    tasks.onChange((t, prev) => seen.push(rateOf(prev), rateOf(t)));

    fs.writeFileSync(config.file, "Registry: { lhcb: {}, atlas: {} }\nTasks:\n  common:\n    a:B: { limits: { rate: { limit: 1 } } }\n");
    assert.equal(await config.reload(), true);
    fs.writeFileSync(config.file, "Registry: { lhcb: {}, atlas: {} }\nTasks:\n  common:\n    a:B: { limits: { rate: { limit: 2 } } }\n");
    assert.equal(await config.reload(), true);
    assert.deepEqual(seen, [1, 2], "the Registry-only change did not notify");
  });

  it("reads DIRACX_TASKS_CONFIG instead, and hot-reloads it", async () => {
    const config = await main("Registry: { lhcb: {} }\n");
    const file = write("common:\n  a:B: { limits: { rate: { limit: 5 } } }\n");
    const tasks = await TasksConfigSource.fromEnv(config, { DIRACX_TASKS_CONFIG: file }, { debounceMs: 10 });
    closers.push(tasks);
    assert.equal(tasks.file, file);
    assert.equal(rateOf(tasks.current()), 5);
    const changed = new Promise<TasksConfig | undefined>((resolve) => tasks.onChange((t) => resolve(t)));
    fs.writeFileSync(file, "common:\n  a:B: { limits: { rate: { limit: 6 } } }\n");
    assert.equal(rateOf(await changed), 6);
  });

  it("refuses a bad tasks file with its path, and a tasks configuration given twice", async () => {
    const config = await main("Registry: { lhcb: {} }\n");
    const bad = write("vo_overrides: {}\n");
    await assert.rejects(TasksConfigSource.fromEnv(config, { DIRACX_TASKS_CONFIG: bad }), {
      name: "ConfigError",
      message: `invalid configuration ${bad}: vo_overrides: unknown key`,
    });
    await assert.rejects(TasksConfigSource.fromEnv(config, { DIRACX_TASKS_CONFIG: path.join(dir, "none.yml") }), /DIRACX_TASKS_CONFIG '.*none\.yml': no such file/);

    const both = await main("Registry: { lhcb: {} }\nTasks: { common: {} }\n");
    const file = write("common: {}\n");
    await assert.rejects(
      TasksConfigSource.fromEnv(both, { DIRACX_TASKS_CONFIG: file }),
      new RegExp(`invalid configuration ${both.file}: Tasks: also configured by DIRACX_TASKS_CONFIG \\(${file}\\); keep one of them`),
    );
  });
});
