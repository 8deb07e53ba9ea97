// Redis Sentinel: DIRACX_TASKS_REDIS_URL=redis+sentinel://host:port/<master> finds the master
// through a real sentinel (`redis-server --sentinel`) for workers, producers and commands.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { after, test } from "node:test";
import { RedisSentinel } from "../support/redis-sentinel.ts";
import { redisClient } from "../support/redis.ts";
import { runs, waitFor } from "../engine/support.ts";

const root = path.resolve(import.meta.dirname, "../..");
const sentinel = await RedisSentinel.start();
process.env.DIRACX_TASKS_REDIS_URL = sentinel.url;
const { LockManager, MutexLock } = await import("../../src/index.ts");
const { Producer, TaskRegistry, TaskWorker } = await import("../../src/entries/ops.ts");
const { openNoDependencies } = await import("../../src/engine/execution.ts");
const fixture = await import("../fixtures/dlq-app/tasks.ts");

const redis = redisClient(sentinel.url, { maxRetriesPerRequest: null });
after(async () => {
  redis.disconnect();
  fixture.closeRecorder();
  await sentinel.stop();
});

test("a worker on a sentinel URL runs a submitted task on the master the sentinel names", async () => {
  const registry = TaskRegistry.fromClasses(fixture.taskClasses);
  const producer = new Producer({ connection: sentinel.url, registry });
  const worker = new TaskWorker({ size: "small", concurrency: 2, connection: sentinel.url, registry, submitter: producer, openUnitOfWork: openNoDependencies, lockManager: new LockManager(redis) });
  await worker.start();
  try {
    const id = await producer.submit("fan:Leaf", { key: "sentinel", n: 3, fail: false, failFirst: 0, waitForGo: false });
    const done = await waitFor("the task finished", async () => ((await runs(redis, "sentinel")).some((r) => r.taskId === id && r.phase === "end") ? true : undefined));
    assert.equal(done, true);
    // The work landed on the master itself.
    const master = redisClient(`redis://127.0.0.1:${sentinel.masterPort}`);
    assert.ok((await master.llen("runs:sentinel")) > 0);
    master.disconnect();
  } finally {
    await worker.close(1_000);
    await producer.close();
  }
});

test("commands take the sentinel URL: `status` shows the queues and `locks list` the holder", async () => {
  const locks = new LockManager(redis);
  const res = await locks.acquireAll([new MutexLock("task", "via-sentinel")], "operator", 60_000, { holder: { taskId: "op-2" } });
  assert.equal(res.acquired, true);
  const run = (args: string[]): Promise<{ stdout: string }> =>
    promisify(execFile)(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), ...args], { cwd: root, env: { ...process.env, DIRACX_TASKS_REDIS_URL: sentinel.url }, encoding: "utf8" });
  const listed = JSON.parse((await run(["locks", "list", "--json"])).stdout) as { redisKey: string }[];
  assert.deepEqual(listed.map((l) => l.redisKey), ["{diracx}:lock:mutex:task:via-sentinel"]);
  const status = JSON.parse((await run(["status", "--json"])).stdout) as { queues: { size: string }[] };
  assert.deepEqual(status.queues.map((q) => q.size), ["small", "medium", "large"]);
});
