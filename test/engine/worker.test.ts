import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RedisServer, redisClient, flushBroker } from "../support/redis.ts";
import { runs, waitFor, waitForJob } from "./support.ts";
import type { AttemptRecord } from "../../src/entries/ops.ts";

const server = await RedisServer.start();
process.env.DIRACX_TASKS_REDIS_URL = server.url;
const { Producer, TaskRegistry, TaskWorker, InvalidTaskArgsError, UnknownTaskError } = await import("../../src/entries/ops.ts");
const { openNoDependencies } = await import("../../src/engine/execution.ts");
const { getTask } = await import("../../src/ops/tasks.ts");
const fixture = await import("../fixtures/engine-app/tasks.ts");

const registry = TaskRegistry.fromClasses({
  "test:Recorder": fixture.Recorder,
  "test:Realtime": fixture.Realtime,
  "test:Normal": fixture.Normal,
  "test:Background": fixture.Background,
  "test:AlwaysFails": fixture.AlwaysFails,
  "test:Picky": fixture.Picky,
  "test:Stops": fixture.Stops,
  "test:Hangs": fixture.Hangs,
  "test:Spawner": fixture.Spawner,
  "test:BigChild": fixture.BigChild,
});

describe("engine: submit → worker → execute (in-process worker)", () => {
  const redis = redisClient(server.url);
  const producer = new Producer({ connection: server.url, registry });
  const workers: InstanceType<typeof TaskWorker>[] = [];
  const startWorker = async (concurrency = 2): Promise<InstanceType<typeof TaskWorker>> => {
    const w = new TaskWorker({ size: "small", concurrency, connection: server.url, registry, submitter: producer, openUnitOfWork: openNoDependencies });
    workers.push(w);
    await w.start();
    return w;
  };

  before(async () => {
    await flushBroker(redis);
  });
  after(async () => {
    for (const w of workers) await w.close(1_000);
    await producer.close();
    redis.disconnect();
    fixture.closeRecorder();
    await server.stop();
  });

  it("validates args at submission, listing each bad path", async () => {
    await assert.rejects(producer.submit("test:Recorder", { key: 3, sleepMs: -1 }), (err: Error) => {
      assert.ok(err instanceof InvalidTaskArgsError);
      assert.match(err.message, /invalid arguments for task 'test:Recorder'/);
      assert.match(err.message, /key: /);
      assert.match(err.message, /sleepMs: /);
      return true;
    });
  });

  it("refuses an unknown task, naming close ones", async () => {
    await assert.rejects(producer.submit("test:Recordr", { key: "x" }), (err: Error) => {
      assert.ok(err instanceof UnknownTaskError);
      assert.match(err.message, /unknown task 'test:Recordr'; did you mean 'test:Recorder'/);
      return true;
    });
  });

  it("runs realtime before normal before background within a size (strict priority)", async () => {
    // Queue everything first, interleaved, then let one worker slot drain it.
    const items = [];
    for (let n = 0; n < 15; n++) {
      for (const t of ["test:Background", "test:Normal", "test:Realtime"]) items.push({ task: t, args: { key: "prio", n } });
    }
    await producer.submitBulk(items);
    const w = await startWorker(1);
    const recs = await waitFor("45 prioritized runs", async () => {
      const r = await runs(redis, "prio");
      return r.length === 45 ? r : undefined;
    });
    await w.close(1_000);
    const order = recs.map((r) => r.p);
    assert.deepEqual(order, [...Array(15).fill("realtime"), ...Array(15).fill("normal"), ...Array(15).fill("background")]);
    // FIFO inside each priority.
    assert.deepEqual(recs.slice(0, 15).map((r) => r.n), [...Array(15).keys()]);
  });

  it("runs a task and keeps its result and history", async () => {
    await startWorker(2);
    const id = await producer.submit("test:Recorder", { key: "basic", value: { answer: 42 } });
    const job = await waitForJob(producer.queue("small"), id, ["completed"]);
    assert.deepEqual(job.returnvalue, { answer: 42 });
    assert.equal(job.attemptsMade, 1);
    assert.ok((job.finishedOn ?? 0) >= (job.processedOn ?? Infinity));
    assert.equal((await runs(redis, "basic")).length, 2);
    // A fresh task's record is lean: no meta (its defaults), no task id repeated in the options,
    // so the job hash keeps Redis's compact encoding (README, "Job records").
    assert.deepEqual(job.data, { v: 1, args: { key: "basic", sleepMs: 0, value: { answer: 42 } } });
    assert.equal(job.opts.jobId, undefined);
    assert.equal(await redis.object("ENCODING", producer.queue("small").toKey(id)), "listpack");
    // What `show` reports fills the defaults in: first submitted when the job was created.
    const view = await getTask({ producer }, id);
    assert.equal(view?.firstSubmittedAt, new Date(job.timestamp).toISOString());
    assert.equal(view?.deferrals, 0);
    assert.deepEqual(view?.history, []);
  });

  it("maxRetries 2 means exactly 3 executions, each error recorded", async () => {
    const id = await producer.submit("test:AlwaysFails", { key: "fails" });
    const job = await waitForJob(producer.queue("small"), id, ["failed"]);
    const r = await runs(redis, "fails");
    assert.deepEqual(r.map((x) => x.attempt), [1, 2, 3]);
    assert.deepEqual(job.data.meta.history.map((h: AttemptRecord) => h.error?.type), ["BoomError", "BoomError", "BoomError"]);
    assert.equal(job.attemptsMade, 3);
  });

  it("hands the policy the real error object", async () => {
    const id = await producer.submit("test:Picky", { key: "picky", transientFailures: 2 });
    const job = await waitForJob(producer.queue("small"), id, ["failed"]);
    assert.deepEqual(job.data.meta.history.map((h: AttemptRecord) => h.error?.type), ["TransientError", "TransientError", "BoomError"]);
  });

  it("StopRetrying ends the task whatever the policy", async () => {
    const id = await producer.submit("test:Stops", { key: "stops" });
    await waitForJob(producer.queue("small"), id, ["failed"]);
    assert.equal((await runs(redis, "stops")).length, 1);
  });

  it("a timed-out attempt fails and is retried", async () => {
    const id = await producer.submit("test:Hangs", { key: "hangs" });
    const job = await waitForJob(producer.queue("small"), id, ["failed"]);
    assert.equal((await runs(redis, "hangs")).length, 2);
    assert.deepEqual(job.data.meta.history.map((h: AttemptRecord) => h.error?.type), ["TaskTimeoutError", "TaskTimeoutError"]);
  });

  it("children land in their own size queue at their own priority; ctx.schedule() records the parent", async () => {
    const id = await producer.submit("test:Spawner", { key: "spawn", children: 2 });
    const job = await waitForJob(producer.queue("small"), id, ["completed"]);
    const childIds = (job.returnvalue as { children: string[] }).children;
    assert.equal(childIds.length, 2);
    for (const cid of childIds) {
      const child = await producer.queue("large").getJob(cid);
      assert.ok(child, "child is in the large queue");
      assert.equal(child.name, "test:BigChild");
      assert.equal(child.opts.priority ?? 0, 0, "realtime = no BullMQ priority");
    }
    // The first child went through ctx.schedule(), the second through task.schedule().
    assert.equal((await producer.queue("large").getJob(childIds[0]!))?.data.meta.parentTaskId, id);
  });
});
