// The worker does not trust the queue (src/engine/job-validation.ts): jobs another producer put
// on a task queue — with BullMQ's Queue.add or straight into Redis — are checked before they
// run. Each malformed one fails at once (no retry), is dead-lettered in TaskDB with the
// validation error as its reason, logged with its task id, counted; no task body runs, and
// the worker keeps running the good jobs behind them.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { Queue } from "bullmq";
import pino from "pino";
import { RedisServer, redisClient } from "../support/redis.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { runs, waitFor, waitForJob } from "./support.ts";

const server = await RedisServer.start();
process.env.DIRACX_TASKS_REDIS_URL = server.url;
const { TaskDB } = await import("../../src/index.ts");
const { Producer, TaskRegistry, TaskWorker, DeadLetterDrainer } = await import("../../src/entries/ops.ts");
const { getEngine, closeAllEngines } = await import("../../src/entries/db.ts");
const { queueNameFor } = await import("../../src/engine/priorities.ts");
const { BULL_PREFIX } = await import("../../src/engine/keys.ts");
const { openNoDependencies } = await import("../../src/engine/execution.ts");
const { metricsRegistry } = await import("../../src/engine/metrics.ts");
const { PayloadTooLargeError } = await import("../../src/engine/producer.ts");
const fixture = await import("../fixtures/trust-app/tasks.ts");

const registry = TaskRegistry.fromClasses(fixture.taskClasses);
const meta = () => ({ firstSubmittedAt: Date.now(), labels: {}, deferrals: 0, history: [] });
const MiB = 1024 * 1024;

describe("the worker validates every job before running it", () => {
  const redis = redisClient(server.url, { maxRetriesPerRequest: null });
  const producer = new Producer({ connection: server.url, registry });
  const queue = new Queue(queueNameFor("small"), { connection: redis, prefix: BULL_PREFIX });
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    }),
  );
  let taskDB: InstanceType<typeof TaskDB>;
  let worker: InstanceType<typeof TaskWorker>;

  before(async () => {
    const dbUrl = await createTestDatabase("validation");
    await TaskDB.migrate(dbUrl);
    taskDB = new TaskDB(getEngine(dbUrl));
    const drainer = new DeadLetterDrainer({ redis, taskDB: () => new TaskDB(getEngine(dbUrl)), baseDelayMs: 20, maxDelayMs: 200 });
    worker = new TaskWorker({ size: "small", concurrency: 2, connection: server.url, registry, submitter: producer, openUnitOfWork: openNoDependencies, deadLetters: drainer, logger });
  });
  after(async () => {
    await worker.close(1_000);
    await queue.close();
    await producer.close();
    redis.disconnect();
    fixture.closeRecorder();
    await closeAllEngines();
    await server.stop();
  });

  it("refuses bad args, unknown fields, a meta that is no object, non-JSON data, a newer layout and 10 MiB of args: each dead-lettered with its reason, none run", async () => {
    // Put on the queue before the worker starts, as another producer would.
    const bad: Record<string, { inject: () => Promise<unknown>; reason: RegExp }> = {
      "bad-args": {
        inject: () => queue.add("trust:Greet", { args: { name: 42, extra: { $where: "1" } }, meta: meta() }, { jobId: "bad-args" }),
        reason: /invalid arguments for task 'trust:Greet': unknown field 'extra' \(fields: name\); name: expected string, received number/,
      },
      "unknown-field": {
        inject: () => queue.add("trust:Greet", { args: { name: "x" }, meta: meta(), evil: true } as never, { jobId: "unknown-field" }),
        reason: /data does not match the job data schema \(docs\/job-data\.schema\.json\): .*Unrecognized key: "evil"/,
      },
      "bad-meta": {
        inject: () => queue.add("trust:Greet", { args: { name: "x" }, meta: "yesterday" } as never, { jobId: "bad-meta" }),
        reason: /meta: expected object, received string/,
      },
      "non-json": {
        inject: async () => {
          // A producer that writes the job hash itself: the data field is not JSON.
          await queue.add("trust:Greet", { args: { name: "x" }, meta: meta() }, { jobId: "non-json", delay: 60_000 });
          await redis.hset(`${BULL_PREFIX}:${queueNameFor("small")}:non-json`, "data", "{'args': {'name': 'x'}");
          await queue.promoteJobs();
        },
        reason: /data is not JSON/,
      },
      "newer-layout": {
        inject: () => queue.add("trust:Greet", { v: 2, args: { name: "x" }, meta: meta() } as never, { jobId: "newer-layout" }),
        reason: /unsupported job data version 2 \(this worker reads version 1\)/,
      },
      "ten-mib": {
        inject: () => queue.add("trust:Greet", { args: { name: "x".repeat(10 * MiB) }, meta: meta() }, { jobId: "ten-mib" }),
        reason: /arguments of task 'trust:Greet' are 10\.0 MiB \(10485771 bytes\), over the 1\.0 MiB bound \(DIRACX_TASKS_MAX_PAYLOAD_BYTES\)/,
      },
    };
    for (const { inject } of Object.values(bad)) await inject();
    const goodId = await producer.submit("trust:Greet", { name: "good" });
    await worker.start();

    const good = await waitForJob(queue, goodId, ["completed"]);
    assert.equal(good.returnvalue, "GOOD", "the worker kept running the valid job");
    for (const [id, { reason }] of Object.entries(bad)) {
      const job = await waitForJob(queue, id, ["failed"]);
      assert.equal(job.attemptsMade, 1, `${id}: failed at once, not retried`);
      const entry = await waitFor(`${id} dead-lettered`, async () => (await taskDB.list({ taskName: "trust:Greet" })).find((e) => e.taskId === id));
      assert.equal(entry.lastErrorType, "InvalidJobError", id);
      assert.match(entry.lastErrorMessage ?? "", reason, id);
      assert.equal(entry.attempts, 1);
      const told = lines.find((l) => l.taskId === id && l.msg === "task failed for good");
      assert.equal(told?.reason, "invalid job", `${id}: logged with its task id and reason`);
      assert.equal(told?.task, "trust:Greet");
      // What stays in Redis is a readable record of the refusal (show, the dashboard).
      assert.deepEqual(job.data.args, {});
      assert.equal(job.data.meta.history.at(-1)?.error?.type, "InvalidJobError");
    }
    const kept = (await taskDB.list({ taskName: "trust:Greet" })).find((e) => e.taskId === "bad-args")!;
    assert.deepEqual(kept.args, { name: 42, extra: { $where: "1" } }, "a dead letter keeps the arguments as they came");
    const big = (await taskDB.list({ taskName: "trust:Greet" })).find((e) => e.taskId === "ten-mib")!;
    assert.match(String(big.args), /^\[arguments of 10485771 bytes not kept: over the 1048576-byte bound\]$/, "but never megabytes of them");
    const nonJson = (await taskDB.list({ taskName: "trust:Greet" })).find((e) => e.taskId === "non-json")!;
    assert.match(String(nonJson.args), /job data was not JSON/);

    assert.deepEqual((await runs(redis, "greet")).map((r) => r.name), ["good"], "no body ran for a refused job");
    const failed = (await metricsRegistry.getSingleMetric("diracx_tasks_failed_total")!.get()).values.filter((v) => v.labels.task === "trust:Greet");
    assert.equal(failed.reduce((n, v) => n + v.value, 0), Object.keys(bad).length, "each refusal counted");
  });

  it("the producer refuses arguments over the bound with one line naming size and bound", async () => {
    await assert.rejects(producer.submit("trust:Greet", { name: "y".repeat(2 * MiB) }), (err: Error) => {
      assert.ok(err instanceof PayloadTooLargeError);
      assert.match(err.message, /^arguments of task 'trust:Greet' are 2\.0 MiB \(2097163 bytes\), over the 1\.0 MiB bound \(DIRACX_TASKS_MAX_PAYLOAD_BYTES\)/);
      return true;
    });
    const small = new Producer({ connection: server.url, registry, maxPayloadBytes: 100 });
    try {
      await assert.rejects(small.submit("trust:Greet", { name: "z".repeat(200) }), PayloadTooLargeError);
    } finally {
      await small.close();
    }
  });
});
