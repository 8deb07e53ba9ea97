import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Queue, Worker } from "bullmq";
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";
import pg from "pg";
import { RedisServer, redisClient, flushBroker } from "../support/redis.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { runs, waitFor } from "./support.ts";

const server = await RedisServer.start();
process.env.DIRACX_TASKS_REDIS_URL = server.url;
const { TaskDB } = await import("../../src/index.ts");
const { Producer, TaskRegistry, TaskWorker, DeadLetterDrainer, resubmitDeadLetter, outboxSize } = await import("../../src/entries/ops.ts");
const { getEngine, closeAllEngines } = await import("../../src/entries/db.ts");
const { queueNameFor } = await import("../../src/engine/priorities.ts");
const { BULL_PREFIX } = await import("../../src/engine/keys.ts");
const { openNoDependencies } = await import("../../src/engine/execution.ts");
const fixture = await import("../fixtures/dlq-app/tasks.ts");

const registry = TaskRegistry.fromClasses({ "dlq:Flaky": fixture.Flaky, "dlq:Hangs": fixture.Hangs });

describe("dead-letter queue: final failures reach TaskDB with every attempt's error", () => {
  const redis = redisClient(server.url, { maxRetriesPerRequest: null });
  const producer = new Producer({ connection: server.url, registry });
  let dbUrl: string;
  let taskDB: InstanceType<typeof TaskDB>;
  const workers: InstanceType<typeof TaskWorker>[] = [];
  const drainers: InstanceType<typeof DeadLetterDrainer>[] = [];

  const startWorker = async (
    url: string,
    size: "small" | "medium" = "small",
    logger?: Logger,
  ): Promise<{ worker: InstanceType<typeof TaskWorker>; drainer: InstanceType<typeof DeadLetterDrainer> }> => {
    const drainer = new DeadLetterDrainer({ redis, taskDB: () => new TaskDB(getEngine(url)), baseDelayMs: 20, maxDelayMs: 200 });
    const worker = new TaskWorker({ size, concurrency: 2, connection: server.url, registry, submitter: producer, openUnitOfWork: openNoDependencies, deadLetters: drainer, ...(logger ? { logger } : {}) });
    workers.push(worker);
    drainers.push(drainer);
    await worker.start();
    return { worker, drainer };
  };

  before(async () => {
    dbUrl = await createTestDatabase("dlq");
    await TaskDB.migrate(dbUrl);
    taskDB = new TaskDB(getEngine(dbUrl));
  });
  after(async () => {
    for (const w of workers) await w.close(1_000);
    for (const d of drainers) await d.stop();
    await producer.close();
    redis.disconnect();
    fixture.closeRecorder();
    await closeAllEngines();
    await server.stop();
  });

  it("stores args, labels, VO, attempts, first submission and every attempt's error; survives FLUSHALL; resubmits once and resolves on success", async () => {
    await startWorker(dbUrl);
    await redis.set("broken:a", "1");
    const t0 = Date.now();
    const taskId = await producer.submit("dlq:Flaky", { key: "a", vo: "lhcb" }, { labels: { origin: "test" } });
    const [entry] = await waitFor("the dead letter in TaskDB", async () => {
      const rows = await taskDB.list({ taskName: "dlq:Flaky" });
      return rows.length ? rows : undefined;
    });
    assert.ok(entry);
    assert.equal(entry.taskId, taskId);
    assert.deepEqual(entry.args, { key: "a", vo: "lhcb" });
    assert.equal(entry.vo, "lhcb");
    assert.deepEqual(entry.labels, { origin: "test", vo: "lhcb" });
    assert.equal(entry.attempts, 3, "maxRetries 2 = 3 executions");
    assert.equal(entry.status, "pending");
    assert.ok(entry.firstSubmittedAt.getTime() >= t0 - 1 && entry.firstSubmittedAt.getTime() <= entry.createdAt.getTime());
    assert.deepEqual(
      entry.errors.map((e) => [e.attempt, e.type, e.message]),
      [1, 2, 3].map((n) => [n, "FlakyError", `flaky failure on attempt ${n}`]),
    );
    for (const e of entry.errors) assert.match(e.stack ?? "", /FlakyError: flaky failure[\s\S]*tasks\.ts/);
    assert.equal(entry.lastErrorType, "FlakyError");
    assert.equal((await runs(redis, "a")).length, 3);
    assert.equal(await outboxSize(redis), 0, "the outbox is emptied once committed");

    // Redis may be wiped: the entry lives in the database.
    await flushBroker(redis);
    const kept = await taskDB.get(entry.id);
    assert.equal(kept?.taskId, taskId);

    // The cause is fixed; resubmit once, a second attempt is refused.
    await redis.del("broken:a");
    const first = await resubmitDeadLetter(taskDB, producer, kept!);
    assert.equal(first.ok, true);
    const second = await resubmitDeadLetter(taskDB, producer, (await taskDB.get(entry.id))!);
    assert.equal(second.ok, false);
    const stale = await resubmitDeadLetter(taskDB, producer, kept!); // a stale copy still says "pending"
    assert.equal(stale.ok, false);
    assert.match(stale.ok ? "" : stale.reason, /already resubmitted/);
    const resolved = await waitFor("entry resolved", async () => {
      const e = await taskDB.get(entry.id);
      return e?.status === "resolved" ? e : undefined;
    });
    assert.equal(resolved.resubmittedTaskId, first.ok ? first.taskId : "");
    const reruns = await runs(redis, "a");
    assert.deepEqual(
      reruns.map((r) => r.taskId),
      [first.ok ? first.taskId : ""],
      "exactly one resubmitted execution",
    );
    assert.equal(await taskDB.count({ taskName: "dlq:Flaky" }), 1, "resolution does not create entries");
  });

  it("a timeout on the last attempt is dead-lettered as TaskTimeoutError", async () => {
    const taskId = await producer.submit("dlq:Hangs", { key: "h" });
    const entry = await waitFor("timeout dead letter", async () => (await taskDB.list({ taskName: "dlq:Hangs" }))[0]);
    assert.equal(entry.taskId, taskId);
    assert.deepEqual(
      entry.errors.map((e) => [e.attempt, e.type]),
      [
        [1, "TaskTimeoutError"],
        [2, "TaskTimeoutError"],
      ],
    );
  });

  it("an unknown task and a task whose workers kept dying are dead-lettered too", async () => {
    // A message no worker can run (e.g. submitted by a newer deployment) is kept for resubmission.
    const unknownId = "unknown-task-1";
    await producer.queue("small").add("dlq:Gone", { args: { x: 1 }, meta: { firstSubmittedAt: Date.now(), labels: {}, deferrals: 0, history: [] } }, { jobId: unknownId });
    const unknown = await waitFor("unknown task dead-lettered", async () => (await taskDB.list({ taskName: "dlq:Gone" }))[0]);
    assert.equal(unknown.taskId, unknownId);
    assert.equal(unknown.lastErrorMessage, "unknown task 'dlq:Gone' (not in this worker's registry)");

    // BullMQ marks a job failed-for-good (in Lua) once its worker died more than maxStalledCount
    // times; the next worker to take it fails it without running it. A manual worker that takes
    // the job and never renews its lock plays the dying worker, on the medium queue, which no
    // real worker serves until the last stall.
    const queue = new Queue(queueNameFor("medium"), { connection: redis, prefix: BULL_PREFIX });
    const stallId = "stalled-task-1";
    await queue.add("dlq:Flaky", { args: { key: "stall" }, meta: { firstSubmittedAt: Date.now(), labels: {}, deferrals: 0, history: [] } }, { jobId: stallId });
    const dying = new Worker(queueNameFor("medium"), null, { connection: redis, prefix: BULL_PREFIX, lockDuration: 100, stalledInterval: 100, maxStalledCount: 2, autorun: false });
    try {
      await dying.startStalledCheckTimer();
      for (let i = 0; i < 3; i++) {
        await waitFor(`stalled job back in wait (${i})`, async () => (await queue.getJobState(stallId)) === "waiting");
        assert.equal((await dying.getNextJob(`dead-${i}`, { block: false }))?.id, stallId);
      }
      // The third stall marks it failed-for-good (BullMQ 6 leaves failing it to the worker's
      // run loop; a manual getNextJob no longer does).
      await waitFor("stalled job back in wait (last)", async () => (await queue.getJobState(stallId)) === "waiting");
    } finally {
      await dying.close(true);
    }
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    await startWorker(dbUrl, "medium", pino(sink));
    await waitFor("stalled job failed", async () => (await queue.getJobState(stallId)) === "failed");
    const entry = await waitFor("stalled task dead-lettered", async () => (await taskDB.list({ taskName: "dlq:Flaky" })).find((e) => e.taskId === stallId));
    assert.equal(entry.lastErrorType, "WorkerLostError");
    assert.match(entry.lastErrorMessage ?? "", /job stalled more than allowable limit: the worker running it died/);
    assert.deepEqual(await runs(redis, "stall"), [], "the task body never ran");
    const told = lines.find((l) => l.taskId === stallId && l.msg === "task failed for good");
    assert.equal(told?.reason, "stalled limit", "the final failure is logged with the task id and its reason");
    const history = (await queue.getJob(stallId))?.data.meta.history ?? [];
    assert.equal(history.at(-1)?.error?.type, "WorkerLostError", "and recorded in the attempt history");
    await queue.close();
  });

  it("keeps the entry in the Redis outbox while the database is down and writes it once it is back, also after a worker restart", async () => {
    // A database that does not exist yet stands for one that is down.
    const u = new URL(dbUrl);
    const downName = `${u.pathname.slice(1)}_later`;
    const downUrl = Object.assign(new URL(dbUrl), { pathname: `/${downName}` }).toString();
    for (const w of workers.splice(0)) await w.close(1_000);
    const { worker, drainer } = await startWorker(downUrl);
    await redis.set("broken:down", "1");
    const taskId = await producer.submit("dlq:Flaky", { key: "down" });
    await waitFor("drainer failing against the down database", () => drainer.consecutiveFailures >= 2);
    assert.equal(await outboxSize(redis), 1, "the entry waits in the outbox");

    // The worker restarts while the database is still down.
    await worker.close(1_000);
    const admin = new pg.Client({ connectionString: dbUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${downName}"`);
    } finally {
      await admin.end();
    }
    await TaskDB.migrate(downUrl);
    const { drainer: d2 } = await startWorker(downUrl);
    await d2.idle();
    assert.equal(await outboxSize(redis), 0);
    const rows = await new TaskDB(getEngine(downUrl)).list({ taskName: "dlq:Flaky" });
    assert.deepEqual(
      rows.map((r) => [r.taskId, r.attempts, r.errors.length]),
      [[taskId, 3, 3]],
    );
  });

});
