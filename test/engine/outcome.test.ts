// The outcome step (src/engine/outcome.ts) against real Redis, PostgreSQL and a real TaskWorker:
// the tasks configuration's retry override decides retries AND dead letters alike (also when
// hot-reloaded between attempts), deferrals wait as long as the limiter says, configured limits
// apply to a core task with its own locks() and give a VO its own pool, and a throw before the
// task body is told like any final failure.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import pino from "pino";
import { RedisServer, redisClient } from "../support/redis.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { runs, waitFor, waitForJob } from "./support.ts";

const appRoot = path.resolve(import.meta.dirname, "../fixtures/outcome-app");
const server = await RedisServer.start();
const configDir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-outcome-"));
const configFile = path.join(configDir, "default.yml");

/** The tasks configuration; `hot` is what the hot-reload test changes between two attempts. */
function writeConfig(hot: { raise: number; raiseDelay: number; lower?: number }): void {
  const lines = [
    "Registry:",
    "  lhcb: {}",
    "  gridpp: {}",
    "Tasks:",
    "  common:",
    '    "oc:FailsThrice": { retry: { maxRetries: 1 } }',
    '    "oc:FailsNoRetry": { retry: { maxRetries: 2, baseDelaySeconds: 0.01 } }',
    `    "oc:HotRaise": { retry: { maxRetries: ${hot.raise}, baseDelaySeconds: ${hot.raiseDelay} } }`,
    ...(hot.lower === undefined ? [] : [`    "oc:HotLower": { retry: { maxRetries: ${hot.lower} } }`]),
    '    "oc:Rated": { limits: { rate: { limit: 2, windowSeconds: 2 } } }',
    '    "oc:PerVo": { limits: { concurrency: { limit: 1 } } }',
    '    "jobs:OptimizeJobsTask": { limits: { rate: { limit: 2, windowSeconds: 60 }, concurrency: { limit: 2 } } }',
    "  vo-overrides:",
    "    lhcb:",
    '      "oc:PerVo": { limits: { concurrency: { limit: 3 } } }',
    "",
  ];
  fs.writeFileSync(configFile, lines.join("\n"));
}
writeConfig({ raise: 1, raiseDelay: 2 });
process.env.DIRACX_TASKS_REDIS_URL = server.url;
process.env.DIRACX_CONFIG_BACKEND_URL = configDir;

const { createEngine, engineWorkerOptions } = await import("../../src/engine/wiring.ts");
const { TaskWorker } = await import("../../src/engine/worker.ts");
const { DeadLetterDrainer } = await import("../../src/engine/dead-letter.ts");
const { TaskDB } = await import("../../src/db/sql/task-db.ts");
const { getEngine, closeAllEngines } = await import("../../src/db/sql/engine.ts");
const { metricsRegistry } = await import("../../src/engine/metrics.ts");
const { closeRecorder } = await import("../fixtures/engine-app/record.ts");

const redis = redisClient(server.url, { maxRetriesPerRequest: null });
const logLines: Record<string, unknown>[] = [];
const logger = pino(
  { level: "info" },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n")) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  }),
);
let engine: Awaited<ReturnType<typeof createEngine>>;
let worker: InstanceType<typeof TaskWorker>;
let taskDB: InstanceType<typeof TaskDB>;

before(async () => {
  const dbUrl = await createTestDatabase("outcome");
  await TaskDB.migrate(dbUrl);
  taskDB = new TaskDB(getEngine(dbUrl));
  engine = await createEngine({ appRoot, watchConfig: true });
  const drainer = new DeadLetterDrainer({ redis, taskDB: () => new TaskDB(getEngine(dbUrl)), baseDelayMs: 20, maxDelayMs: 200 });
  worker = new TaskWorker({ size: "small", concurrency: 8, ...engineWorkerOptions(engine), deadLetters: drainer, logger, timings: { baseDeferralMs: 20, maxDeferralMs: 200 } });
  await worker.start();
});

after(async () => {
  await worker.close(1_000);
  await engine.close();
  closeRecorder();
  redis.disconnect();
  await closeAllEngines();
  await server.stop();
  fs.rmSync(configDir, { recursive: true, force: true });
});

async function counter(name: string, task: string): Promise<number> {
  const metric = metricsRegistry.getSingleMetric(name);
  assert.ok(metric, name);
  const { values } = await metric.get();
  return values.filter((v) => v.labels.task === task).reduce((n, v) => n + v.value, 0);
}

async function deadLetters(task: string) {
  return taskDB.list({ taskName: task });
}

const small = () => engine.producer.queue("small");

test("a configuration that lowers an eligible task's retries: dead-lettered after exactly the configured attempts, counted failed once", async () => {
  const id = await engine.producer.submit("oc:FailsThrice", { key: "lowered" });
  const [entry] = await waitFor("the dead letter", async () => {
    const rows = await deadLetters("oc:FailsThrice");
    return rows.length ? rows : undefined;
  });
  assert.equal(entry?.taskId, id);
  assert.equal(entry?.attempts, 2, "maxRetries 1 from the configuration = 2 executions");
  assert.deepEqual(
    entry?.errors.map((e) => [e.attempt, e.type]),
    [
      [1, "OutcomeBoom"],
      [2, "OutcomeBoom"],
    ],
  );
  const job = await waitForJob(small(), id, ["failed"]);
  assert.equal(job.attemptsMade, 2, "BullMQ stopped where the outcome step did");
  assert.deepEqual((await runs(redis, "lowered")).map((r) => r.attempt), [1, 2]);
  assert.equal(await counter("diracx_tasks_failed_total", "oc:FailsThrice"), 1);
  assert.equal(await counter("diracx_tasks_retried_total", "oc:FailsThrice"), 1);
});

test("a configuration that raises an eligible task's retries: retried that many times, dead-lettered only at the end", async () => {
  const id = await engine.producer.submit("oc:FailsNoRetry", { key: "raised" });
  const job = await waitForJob(small(), id, ["failed"]);
  assert.equal(job.attemptsMade, 3);
  const entry = await waitFor("the dead letter", async () => (await deadLetters("oc:FailsNoRetry"))[0]);
  assert.equal(entry.taskId, id);
  assert.equal(entry.attempts, 3);
  assert.deepEqual((await runs(redis, "raised")).map((r) => r.attempt), [1, 2, 3]);
  assert.equal((await deadLetters("oc:FailsNoRetry")).length, 1, "one dead letter, written at the final failure only");
  assert.equal(await counter("diracx_tasks_failed_total", "oc:FailsNoRetry"), 1);
  assert.equal(await counter("diracx_tasks_retried_total", "oc:FailsNoRetry"), 2);
});

test("a retry override hot-reloaded between two attempts decides the next failure (raised and lowered)", async () => {
  // HotRaise: 1 retry, 2 s away; HotLower: its own 5 retries, 2 s apart.
  const raiseId = await engine.producer.submit("oc:HotRaise", { key: "hot-raise" });
  const lowerId = await engine.producer.submit("oc:HotLower", { key: "hot-lower" });
  await waitFor("both first attempts", async () => (await runs(redis, "hot-raise")).length === 1 && (await runs(redis, "hot-lower")).length === 1);
  writeConfig({ raise: 3, raiseDelay: 0.01, lower: 1 });
  await waitFor("the reloaded configuration", () => engine.tasksConfig?.current()?.common["oc:HotLower"]?.retry?.maxRetries === 1);
  assert.deepEqual((await runs(redis, "hot-raise")).length, 1, "the reload came before the second attempt");

  const raised = await waitFor("HotRaise dead letter", async () => (await deadLetters("oc:HotRaise"))[0]);
  assert.equal(raised.taskId, raiseId);
  assert.equal(raised.attempts, 4, "3 retries after the reload");
  assert.deepEqual((await runs(redis, "hot-raise")).map((r) => r.attempt), [1, 2, 3, 4]);

  const lowered = await waitFor("HotLower dead letter", async () => (await deadLetters("oc:HotLower"))[0]);
  assert.equal(lowered.taskId, lowerId);
  assert.equal(lowered.attempts, 2, "1 retry after the reload, not the task's own 5");
  assert.equal((await waitForJob(small(), lowerId, ["failed"])).attemptsMade, 2);
  for (const task of ["oc:HotRaise", "oc:HotLower"]) assert.equal(await counter("diracx_tasks_failed_total", task), 1);
});

test("a rate-limited task is deferred until the limiter's window allows it, not earlier", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push(await engine.producer.submit("oc:Rated", { key: "rated" }));
  for (const id of ids) await waitForJob(small(), id, ["completed"]);
  const records = await runs(redis, "rated");
  let deferred = 0;
  for (const id of ids) {
    const job = (await small().getJob(id))!;
    // A task never deferred keeps no meta in Redis (a fresh task's defaults).
    const log = job.data.meta?.deferralLog ?? [];
    assert.equal(log.length, job.data.meta?.deferrals ?? 0);
    const ran = records.find((r) => r.taskId === id)!;
    for (const d of log) {
      assert.match(d.blockedBy, /task:Rated$/);
      assert.ok(d.retryAfterMs > 0 && d.retryAfterMs <= 2_000, `retryAfterMs within the 2 s window: ${d.retryAfterMs}`);
      assert.ok(d.delayMs >= d.retryAfterMs, `deferred ${d.delayMs} ms, the limiter said ${d.retryAfterMs} ms`);
    }
    const last = log.at(-1);
    if (last) {
      deferred += 1;
      assert.ok(ran.at >= last.at + last.retryAfterMs, "ran only once the window allowed it");
    }
  }
  assert.equal(deferred, 2, "2 permits per window: the 3rd and 4th were deferred");
  assert.equal(records.length, 4);
});

test("limits configured for a core task with its own locks() (jobs:OptimizeJobsTask) throttle it", async () => {
  // OptimizeJobsTask's locks() is one mutex per job; the configured rate (2 per 60 s) is added by
  // the engine. No job database is wired here, so the two that get a permit fail in their unit
  // of work; the throttling is what is looked at.
  const ids: string[] = [];
  for (let i = 1; i <= 4; i++) ids.push(await engine.producer.submit("jobs:OptimizeJobsTask", { jobIds: [1000 + i] }));
  const deferredIds = await waitFor("two optimisations deferred by the rate limit", async () => {
    const out: string[] = [];
    for (const id of ids) {
      const job = await small().getJob(id);
      const last = job?.data.meta?.deferralLog?.at(-1);
      if (last && /task:OptimizeJobsTask$/.test(last.blockedBy) && (await small().getJobState(id)) === "delayed") out.push(id);
    }
    return out.length === 2 ? out : undefined;
  });
  for (const id of deferredIds) {
    const job = (await small().getJob(id))!;
    assert.ok(job.data.meta.deferralLog!.at(-1)!.retryAfterMs > 30_000, "held back for (most of) the 60 s window");
    assert.equal(job.attemptsMade, 0, "a deferral is not an attempt");
  }
  const limiters = await engine.lockManager.list("OptimizeJobsTask");
  const rate = limiters.find((l) => l.type === "rate");
  assert.equal(rate?.holders.length, 2, "two permits consumed in the window");
});

test("per-VO limits give each VO its own pool; the common limit counts the other VOs' runs", async () => {
  // common: 1 at a time; lhcb: 3 of its own.
  const lhcb: string[] = [];
  for (let i = 0; i < 3; i++) lhcb.push(await engine.producer.submit("oc:PerVo", { key: "pervo", vo: "lhcb", sleepMs: 1_500 }));
  await waitFor("the three lhcb runs started", async () => (await runs(redis, "pervo")).filter((r) => r.phase === "start").length === 3);
  const gridpp: string[] = [];
  for (let i = 0; i < 2; i++) gridpp.push(await engine.producer.submit("oc:PerVo", { key: "pervo", vo: "gridpp", sleepMs: 300 }));
  for (const id of [...lhcb, ...gridpp]) await waitForJob(small(), id, ["completed"]);

  const events = (await runs(redis, "pervo")).map((r) => `${r.vo as string}:${r.phase as string}:${r.taskId}`);
  const firstLhcbEnd = events.findIndex((e) => e.startsWith("lhcb:end"));
  assert.equal(events.slice(0, firstLhcbEnd).filter((e) => e.startsWith("lhcb:start")).length, 3, "lhcb ran 3 at once in its own pool");
  const gridppStart = events.findIndex((e) => e.startsWith("gridpp:start"));
  assert.ok(gridppStart < firstLhcbEnd, `a gridpp task did not wait for lhcb's runs: ${events.join(", ")}`);
  const [g1, g2] = gridpp;
  assert.ok(events.indexOf(`gridpp:end:${g1}`) < events.indexOf(`gridpp:start:${g2}`) || events.indexOf(`gridpp:end:${g2}`) < events.indexOf(`gridpp:start:${g1}`), "gridpp ran one at a time (common limit 1)");
  const gridppDeferred = await Promise.all(gridpp.map(async (id) => (await small().getJob(id))!.data.meta?.deferrals ?? 0));
  assert.ok(gridppDeferred.some((n) => n > 0), "the second gridpp task waited for the first");
});

test("a throw in locks() of an eligible task is a final failure: logged with id and reason, recorded, counted, dead-lettered", async () => {
  const id = await engine.producer.submit("oc:BadLocks", { key: "bad-locks" });
  const entry = await waitFor("the dead letter", async () => (await deadLetters("oc:BadLocks"))[0]);
  assert.equal(entry.taskId, id);
  assert.equal(entry.attempts, 1, "not retried: the same locks() would throw again");
  assert.equal(entry.lastErrorType, "LockObjectTypeError");
  assert.match(entry.lastErrorMessage ?? "", /unknown lock object type 'no_such_type'/);
  const job = await waitForJob(small(), id, ["failed"]);
  assert.deepEqual(
    job.data.meta.history.map((h: { attempt: number; outcome: string; error?: { type: string } }) => [h.attempt, h.outcome, h.error?.type]),
    [[1, "failed", "LockObjectTypeError"]],
  );
  const line = logLines.find((l) => l.taskId === id && l.msg === "task failed for good");
  assert.ok(line, "one line names the task");
  assert.equal(line.reason, "failed before the task body");
  assert.equal(await counter("diracx_tasks_failed_total", "oc:BadLocks"), 1);
  assert.deepEqual(await runs(redis, "bad-locks"), [], "the body never ran");
});
