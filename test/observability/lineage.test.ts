// Lineage through AsyncLocalStorage: a child submitted with `task.schedule()` inside a running
// task records its parent exactly like one submitted with `ctx.schedule()`, as `show` tells it.
// Real worker processes on a private Redis.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { RedisServer } from "../support/redis.ts";
import { cliWith, ROOT } from "./support.ts";

const server = await RedisServer.start();
const configDir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-lineage-"));
fs.writeFileSync(path.join(configDir, "default.yml"), "Registry:\n  lhcb: {}\n");
const { run, start, stopAll } = cliWith({
  ...process.env,
  DIRACX_CONFIG_BACKEND_URL: configDir,
  DIRACX_APP_ROOT: path.join(ROOT, "test/fixtures/engine-app"),
  DIRACX_TASKS_REDIS_URL: server.url,
  DIRACX_LOG_LEVEL: "warn",
  DIRACX_LOG_FORMAT: "json",
});

after(async () => {
  await stopAll();
  await server.stop();
  fs.rmSync(configDir, { recursive: true, force: true });
});

interface View {
  taskId: string;
  state: string;
  result?: { children: string[] };
  parent?: { taskId: string; task?: string };
}

async function show(args: string[]): Promise<View> {
  const r = await run(["show", ...args, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as View;
}

describe("lineage", () => {
  it("children submitted by ctx.schedule() and by task.schedule() inside a task both name their parent", async () => {
    start(["worker", "--size", "small"]);
    start(["worker", "--size", "large"]);
    const submitted = await run(["submit", "test:Spawner", "--kwargs", JSON.stringify({ key: "lineage", children: 3 })]);
    assert.equal(submitted.code, 0, submitted.stderr);
    const parentId = submitted.stdout.trim();
    const parent = await show([parentId, "--follow", "--timeout", "60"]);
    assert.equal(parent.state, "completed");
    const children = parent.result!.children;
    assert.equal(children.length, 3, "one through ctx.schedule(), two through task.schedule()");
    for (const id of children) {
      const child = await show([id]);
      assert.equal(child.parent?.taskId, parentId, `child ${id} shows its parent`);
      assert.equal(child.parent?.task, "test:Spawner");
    }
  });
});
