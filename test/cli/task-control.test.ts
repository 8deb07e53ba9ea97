// `show`, `tasks list`, `cancel`, `retry`, `promote`, `queue pause|resume` as an operator runs them (real CLI process, real Redis).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { after, describe, it } from "node:test";
import { RedisServer } from "../support/redis.ts";

const root = path.resolve(import.meta.dirname, "../..");
const appRoot = path.join(root, "test/fixtures/engine-app");
const server = await RedisServer.start();
process.env.DIRACX_TASKS_REDIS_URL = server.url;
const { Producer, TaskRegistry } = await import("../../src/index.ts");
const fixture = await import("../fixtures/engine-app/tasks.ts");
const { DIRACX_CONFIG_BACKEND_URL: _c, DIRACX_TASKS_CONFIG: _t, ...baseEnv } = process.env;

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), ...args], {
    cwd: root,
    env: { ...baseEnv, DIRACX_APP_ROOT: appRoot, DIRACX_TASKS_REDIS_URL: server.url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

describe("diracx-tasks show | tasks list | cancel | promote | queue", () => {
  const producer = new Producer({ connection: server.url, registry: TaskRegistry.fromClasses({ "test:Recorder": fixture.Recorder }) });
  after(async () => {
    await producer.close();
    await server.stop();
  });

  it("shows a task by the id submit printed, as text and JSON; an unknown id is one line, exit 1", async () => {
    const id = await producer.submit("test:Recorder", { key: "show" }, { delay: 3_600_000, labels: { vo: "lhcb" } });
    const text = await cli("show", id);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^task id: +${id}\\ntask: +test:Recorder\\nstate: +delayed \\(runs at `));
    assert.match(text.stdout, /queue: +tasks-small \(small\), priority normal\nargs: +\{"key":"show","sleepMs":0\}\nlabels: +\{"vo":"lhcb"\}/);
    const json = await cli("show", id, "--json");
    const view = JSON.parse(json.stdout) as { state: string; args: unknown };
    assert.equal(view.state, "delayed");
    const missing = await cli("show", "nope");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^diracx-tasks: no task nope in Redis \(never submitted, or removed after its retention period/);
    assert.equal(missing.stderr.split("\n").length, 2, "one line");
  });

  it("--follow is bounded: it gives up after --timeout with one line and exit 1", async () => {
    const id = await producer.submit("test:Recorder", { key: "follow" }, { delay: 3_600_000 });
    const r = await cli("show", id, "--follow", "--timeout", "1");
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`diracx-tasks: task ${id} is still delayed \\(gave up waiting after 1 s or when interrupted\\)\\n$`));
  });

  it("lists by state and task; promotes a delayed task, cancels a waiting one, refuses a wrong state", async () => {
    const list = await cli("tasks", "list", "--state", "delayed", "--task", "test:Recorder", "--json");
    assert.equal(list.code, 0, list.stderr);
    const page = JSON.parse(list.stdout) as { tasks: { taskId: string }[]; total: number };
    assert.equal(page.total, 2);
    const [first] = page.tasks;
    const promoted = await cli("promote", first!.taskId);
    assert.equal(promoted.stdout, `promoted ${first!.taskId}\n`);
    const again = await cli("promote", first!.taskId);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /cannot promote task .* \(test:Recorder\): it is waiting, only a delayed task can be\n$/);
    const cancelled = await cli("cancel", first!.taskId);
    assert.equal(cancelled.stdout, `cancelled ${first!.taskId}\n`);
    const badState = await cli("tasks", "list", "--state", "running");
    assert.equal(badState.code, 1);
    assert.match(badState.stderr, /--state: unknown state 'running' \(known: waiting, delayed, active, failed, completed\)/);
    const badTask = await cli("tasks", "list", "--state", "failed", "--task", "test:Recordr");
    assert.equal(badTask.code, 1);
    assert.match(badTask.stderr, /unknown task 'test:Recordr'; did you mean 'test:Recorder'\?/);
  });

  it("pauses and resumes a queue by size; an unknown size is refused", async () => {
    assert.equal((await cli("queue", "pause", "small")).stdout, "tasks-small: paused\n");
    assert.equal(await producer.queue("small").isPaused(), true);
    assert.equal((await cli("queue", "resume", "small")).stdout, "tasks-small: running\n");
    assert.equal(await producer.queue("small").isPaused(), false);
    const bad = await cli("queue", "pause", "huge");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown queue size 'huge' \(known: small, medium, large\)/);
  });

  it("an unreachable Redis is one line naming the URL (password masked), not a hang", async () => {
    const child = spawn(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), "show", "x"], {
      cwd: root,
      env: { ...baseEnv, DIRACX_APP_ROOT: appRoot, DIRACX_TASKS_REDIS_URL: "redis://user:secret@127.0.0.1:1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((resolve) => child.on("exit", resolve));
    assert.equal(code, 1);
    assert.match(stderr, /^diracx-tasks: cannot connect to Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1:1 /);
    assert.doesNotMatch(stderr, /secret/);
  });
});
