import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { RedisServer, redisClient, flushBroker } from "../support/redis.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { runs, waitFor } from "./support.ts";
import type { ChildOutcome, FanoutHandle, Size } from "../../src/index.ts";

const server = await RedisServer.start();
process.env.DIRACX_TASKS_REDIS_URL = server.url;
const { TaskDB, LockManager, MutexLock } = await import("../../src/index.ts");
const { Producer, TaskRegistry, TaskWorker, DeadLetterDrainer } = await import("../../src/entries/ops.ts");
const { getEngine, closeAllEngines } = await import("../../src/entries/db.ts");
const { openNoDependencies } = await import("../../src/engine/execution.ts");
const fixture = await import("../fixtures/dlq-app/tasks.ts");

const registry = TaskRegistry.fromClasses(fixture.taskClasses);
const workerScript = fileURLToPath(new URL("../fixtures/dlq-app/worker-process.ts", import.meta.url));

interface CallbackRun {
  taskId: string;
  attempt: number;
  outcomes: ChildOutcome[];
}

describe("fan-out / fan-in on BullMQ flows", () => {
  const redis = redisClient(server.url, { maxRetriesPerRequest: null });
  const producer = new Producer({ connection: server.url, registry });
  const locks = new LockManager(redis);
  const workers = new Map<Size, InstanceType<typeof TaskWorker>>();
  const processes: ChildProcess[] = [];
  let dbUrl: string;
  let drainer: InstanceType<typeof DeadLetterDrainer>;

  const startWorker = async (size: Size): Promise<void> => {
    const w = new TaskWorker({
      size,
      concurrency: 4,
      connection: server.url,
      registry,
      submitter: producer,
      openUnitOfWork: openNoDependencies,
      lockManager: locks,
      // Quick stalled-job recovery for the killed-worker case, small deferrals for the lock case.
      timings: { jobLockMs: 1_000, stalledIntervalMs: 300, baseDeferralMs: 20, maxDeferralMs: 100 },
      ...(size === "medium" ? { deadLetters: drainer } : {}),
    });
    workers.set(size, w);
    await w.start();
  };

  const callbackRuns = async (key: string): Promise<CallbackRun[]> => (await redis.lrange(`callback:${key}`, 0, -1)).map((s) => JSON.parse(s) as CallbackRun);
  const callbackDone = async (handle: FanoutHandle, size: Size = "medium"): Promise<string> =>
    waitFor(`callback ${handle.callbackTaskId} finished`, async () => {
      const state = await producer.queue(size).getJobState(handle.callbackTaskId);
      return state === "completed" || state === "failed" ? state : undefined;
    });

  before(async () => {
    await flushBroker(redis);
    dbUrl = await createTestDatabase("fanout");
    await TaskDB.migrate(dbUrl);
    drainer = new DeadLetterDrainer({ redis, taskDB: () => new TaskDB(getEngine(dbUrl)), baseDelayMs: 20 });
    // The small worker is started per test: the killed-worker case needs the children to go to a worker process first.
    await startWorker("medium");
    await startWorker("large");
  });
  after(async () => {
    for (const p of processes) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    for (const w of workers.values()) await w.close(1_000);
    await drainer.stop();
    await producer.close();
    redis.disconnect();
    fixture.closeRecorder();
    await closeAllEngines();
    await server.stop();
  });

  it("survives a worker killed mid-child: the child is re-run elsewhere and the callback fires once with both outcomes", async () => {
    const proc = spawn(process.execPath, ["--import", "tsx", workerScript, "small"], {
      env: { ...process.env, DIRACX_TASKS_JOB_LOCK_MS: "1000", DIRACX_TASKS_STALLED_INTERVAL_MS: "300", DIRACX_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    processes.push(proc);
    await waitFor("worker process ready", async () => {
      const [chunk] = (await once(proc.stdout!, "data")) as [Buffer];
      return chunk.toString().includes("ready");
    });
    const handle = await producer.spawnWithCallback(
      [new fixture.Leaf({ key: "kill", n: 0, fail: false, failFirst: 0, waitForGo: true }), new fixture.Leaf({ key: "kill", n: 1, fail: false, failFirst: 0, waitForGo: false })],
      new fixture.Collect({ key: "kill" }),
    );
    const started = await waitFor("child 0 running in the worker process", async () => (await runs(redis, "kill")).find((r) => r.n === 0 && r.pid === proc.pid));
    proc.kill("SIGKILL");
    await once(proc, "exit");
    assert.equal((await callbackRuns("kill")).length, 0);

    await redis.set("go:kill", "1");
    await startWorker("small");
    assert.equal(await callbackDone(handle), "completed");
    const cb = await callbackRuns("kill");
    assert.equal(cb.length, 1, "the callback fires exactly once");
    assert.deepEqual(
      cb[0]!.outcomes.map((o) => [o.taskId, o.task, o.status, o.result]),
      [
        [handle.childTaskIds[0], "fan:Leaf", "completed", { n: 0, doubled: 0 }],
        [handle.childTaskIds[1], "fan:Leaf", "completed", { n: 1, doubled: 2 }],
      ],
    );
    const child0 = (await runs(redis, "kill")).filter((r) => r.n === 0 && r.phase === "start");
    assert.equal(child0[0]!.taskId, started.taskId);
    assert.ok(child0.some((r) => r.pid === process.pid), "the killed child was re-run by the surviving worker");
  });

  it("from inside a task: children land in their own size queues at their own priorities; the callback sees every result and a failed child's error", async () => {
    const parentId = await producer.submit("fan:Parent", { key: "p", count: 4, failIndex: 2 });
    const handle = await waitFor("parent completed", async () => {
      const job = await producer.queue("small").getJob(parentId);
      return job?.finishedOn ? (job.returnvalue as FanoutHandle) : undefined;
    });
    assert.equal(handle.childTaskIds.length, 5);
    // Children at their own size/priority (upstream sent everything to normal:medium).
    const leaf = await producer.queue("small").getJob(handle.childTaskIds[0]!);
    assert.equal(leaf?.opts.priority, 2, "Leaf is background");
    assert.equal(leaf?.data.meta.parentTaskId, parentId);
    const big = await producer.queue("large").getJob(handle.childTaskIds[4]!);
    assert.equal(big?.name, "fan:BigLeaf");
    assert.ok(!big?.opts.priority, "BigLeaf is realtime (no BullMQ priority)");

    assert.equal(await callbackDone(handle), "completed");
    const cb = await callbackRuns("p");
    assert.equal(cb.length, 1);
    assert.deepEqual(
      cb[0]!.outcomes.map((o) => [o.task, o.status, o.status === "completed" ? o.result : o.error]),
      [
        ["fan:Leaf", "completed", { n: 0, doubled: 0 }],
        ["fan:Leaf", "completed", { n: 1, doubled: 2 }],
        ["fan:Leaf", "failed", { type: "ChildBoom", message: "child 2 failed" }],
        ["fan:Leaf", "completed", { n: 3, doubled: 6 }],
        ["fan:BigLeaf", "completed", { big: 99 }],
      ],
    );
    // The failed child was retried to the end (maxRetries 3) before the callback ran.
    const child2 = (await runs(redis, "p")).filter((r) => r.n === 2);
    assert.deepEqual(
      child2.map((r) => r.attempt),
      [1, 2, 3, 4],
    );
    const cbJob = await producer.queue("medium").getJob(handle.callbackTaskId);
    assert.ok(cbJob!.processedOn! >= Math.max(...child2.map((r) => r.at)));
  });

  it("a retried child advances the group only on its final outcome; zero children fire the callback at once", async () => {
    const handle = await producer.spawnWithCallback([new fixture.Leaf({ key: "retry", n: 7, fail: false, failFirst: 2, waitForGo: false })], new fixture.Collect({ key: "retry" }));
    assert.equal(await callbackDone(handle), "completed");
    const childRuns = await runs(redis, "retry");
    assert.deepEqual(
      childRuns.filter((r) => r.phase === "start").map((r) => r.attempt),
      [1, 2, 3],
    );
    const [cb] = await callbackRuns("retry");
    assert.deepEqual(cb!.outcomes.map((o) => [o.status, o.result]), [["completed", { n: 7, doubled: 14 }]]);

    const empty = await producer.spawnWithCallback([], new fixture.Collect({ key: "empty" }));
    assert.deepEqual(empty.childTaskIds, []);
    assert.equal(await callbackDone(empty), "completed");
    assert.deepEqual(
      (await callbackRuns("empty")).map((r) => r.outcomes),
      [[]],
    );
  });

  it("a child deferred by lock contention does not advance the group", async () => {
    const res = await locks.acquireAll([new MutexLock("task", "fanout-lock")], "test-holder", 60_000);
    assert.ok(res.acquired);
    const handle = await producer.spawnWithCallback([new fixture.LockedLeaf({ key: "locked" })], new fixture.Collect({ key: "locked" }));
    await waitFor("child deferred twice", async () => {
      const job = await producer.queue("small").getJob(handle.childTaskIds[0]!);
      return (job?.data.meta.deferrals ?? 0) >= 2;
    });
    assert.equal(await producer.queue("medium").getJobState(handle.callbackTaskId), "waiting-children");
    assert.deepEqual(await runs(redis, "locked"), []);
    await locks.releaseAll(res.held);
    assert.equal(await callbackDone(handle), "completed");
    const cb = await callbackRuns("locked");
    assert.deepEqual(
      cb.map((r) => r.outcomes.map((o) => [o.status, o.result])),
      [[["completed", "locked-done"]]],
    );
  });

  it("requireAllSuccess: a failed child fails the callback without executing it, and it is dead-lettered", async () => {
    const handle = await producer.spawnWithCallback(
      [new fixture.Leaf({ key: "strict", n: 1, fail: false, failFirst: 0, waitForGo: false }), new fixture.Leaf({ key: "strict", n: 2, fail: true, failFirst: 0, waitForGo: false })],
      new fixture.StrictCollect({ key: "strict" }),
      { requireAllSuccess: true },
    );
    assert.equal(await callbackDone(handle), "failed");
    assert.deepEqual(await callbackRuns("strict"), [], "the callback body never ran");
    const taskDB = new TaskDB(getEngine(dbUrl));
    const entry = await waitFor("callback dead-lettered", async () => (await taskDB.list({ taskName: "fan:StrictCollect" }))[0]);
    assert.equal(entry.taskId, handle.callbackTaskId);
    assert.equal(entry.attempts, 1, "ChildrenFailedError is not retried");
    assert.equal(entry.lastErrorType, "ChildrenFailedError");
    assert.match(entry.lastErrorMessage ?? "", /1 of 2 children of group .* failed \(first: fan:Leaf .*: ChildBoom: child 2 failed\)/);
    assert.equal(entry.labels.fanoutGroup, handle.groupId);
  });
});
