import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { createTestDatabase } from "../support/postgres.ts";
import { RedisServer, redisClient } from "../support/redis.ts";
import { runs, waitFor, waitForJob } from "./support.ts";

const appRoot = path.resolve(import.meta.dirname, "../fixtures/engine-app");
const server = await RedisServer.start();
const dbUrl = await createTestDatabase();
process.env.DIRACX_TASKS_REDIS_URL = server.url;
process.env.DIRACX_DB_URL_NOTESDB = dbUrl;
const { createEngine } = await import("../../src/engine/wiring.ts");
const { closeAllEngines } = await import("../../src/db/sql/engine.ts");
const { LockManager, MutexLock } = await import("../../src/index.ts");
const { TaskWorker } = await import("../../src/entries/ops.ts");
const fixture = await import("../fixtures/engine-app/tasks.ts");

describe("engine: locks and transactions (in-process worker, real registry)", () => {
  const redis = redisClient(server.url);
  let engine: Awaited<ReturnType<typeof createEngine>>;
  let worker: InstanceType<typeof TaskWorker>;

  before(async () => {
    engine = await createEngine({ appRoot });
    await fixture.NotesDB.migrate(dbUrl);
    worker = new TaskWorker({
      size: "small",
      concurrency: 2,
      connection: server.url,
      registry: engine.tasks,
      submitter: engine.producer,
      openUnitOfWork: engine.openUnitOfWork,
      lockManager: engine.lockManager,
      // Short lock TTL (extended every 200 ms) so a lost lock is noticed quickly.
      timings: { baseDeferralMs: 20, maxDeferralMs: 200, lockTtlMs: 600 },
    });
    await worker.start();
  });
  after(async () => {
    await worker.close(1_000);
    await engine.close();
    redis.disconnect();
    fixture.closeRecorder();
    await closeAllEngines();
    await server.stop();
  });

  it("loads tasks from the entry-point registry under <category>:<Class>", () => {
    assert.ok(engine.tasks.has("test:Exclusive"));
    assert.ok(engine.tasks.has("test:WriteNote"));
    assert.equal(engine.tasks.get("test:Exclusive"), fixture.Exclusive);
  });

  it("defers a task whose locks are busy without counting an attempt, and takes none of them meanwhile", async () => {
    const manager = new LockManager(redis);
    const blocker = await manager.acquireAll([new MutexLock("job", 1)], "test-owner", 30_000);
    assert.ok(blocker.acquired);
    const id = await engine.producer.submit("test:Pair", { key: "pair", a: 1, b: 2 });
    await waitFor("two deferrals", async () => ((await engine.producer.queue("small").getJob(id))?.data.meta?.deferrals ?? 0) >= 2);
    // All-or-nothing: the free lock job:2 was not kept while job:1 was busy.
    const other = await manager.acquireAll([new MutexLock("job", 2)], "probe", 1_000);
    assert.ok(other.acquired, "job:2 is free while Pair waits for job:1");
    await manager.releaseAll(other.held);
    assert.equal((await runs(redis, "pair")).length, 0);
    await manager.releaseAll(blocker.held);
    const job = await waitForJob(engine.producer.queue("small"), id, ["completed"]);
    assert.equal(job.attemptsMade, 1, "deferrals are not attempts");
    assert.deepEqual((await runs(redis, "pair")).map((r) => r.attempt), [1]);
    assert.ok(job.data.meta.deferrals >= 2);
  });

  it("aborts a task whose lock was taken from it: ctx.signal fires, ctx.lockLost names the lock, the attempt fails", async () => {
    const id = await engine.producer.submit("test:HoldsMutex", { key: "lost" });
    await waitFor("the task to start", async () => (await runs(redis, "lost")).length === 1);
    const [start] = await runs(redis, "lost");
    assert.equal(start?.lost, false);
    // An operator's `diracx-tasks locks release` while the task runs.
    const key = new MutexLock("task", "HoldsMutex", "lost").redisKey;
    assert.equal(await new LockManager(redis).forceRelease(key), true);
    const job = await waitForJob(engine.producer.queue("small"), id, ["failed"]);
    assert.match(job.failedReason, /lost lock \{diracx\}:lock:mutex:task:HoldsMutex:lost/);
    assert.equal(job.data.meta.history.at(-1)?.error?.type, "LockLostError");
    await waitFor("the task to see the abort", async () => (await runs(redis, "lost")).length === 2);
    const aborted = (await runs(redis, "lost"))[1];
    assert.deepEqual([aborted?.phase, aborted?.lost, aborted?.keys, aborted?.reason], ["aborted", true, [key], "LockLostError"]);
  });

  it("commits a successful task's writes and rolls back a failing task's", async () => {
    const ok = await engine.producer.submit("test:WriteNote", { text: "kept" });
    const bad = await engine.producer.submit("test:WriteNote", { text: "dropped", fail: true });
    assert.equal((await waitForJob(engine.producer.queue("small"), ok)).finishedOn !== undefined, true);
    assert.equal(await (await waitForJob(engine.producer.queue("small"), bad)).getState(), "failed");
    const notes = await fixture.NotesDB.fromEnv().db.selectFrom("notes").select("text").execute();
    assert.deepEqual(notes.map((n) => n.text), ["kept"]);
  });

  it("reports a missing DB URL before execute, naming the variable", async () => {
    const saved = process.env.DIRACX_DB_URL_NOTESDB;
    delete process.env.DIRACX_DB_URL_NOTESDB;
    try {
      const id = await engine.producer.submit("test:WriteNote", { text: "never" });
      const job = await waitForJob(engine.producer.queue("small"), id, ["failed"]);
      assert.match(job.failedReason, /DIRACX_DB_URL_NOTESDB/);
    } finally {
      process.env.DIRACX_DB_URL_NOTESDB = saved;
    }
  });
});
