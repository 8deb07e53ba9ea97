import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import pino from "pino";
import { priorityFromBullmq } from "../../src/engine/priorities.ts";
import { Producer } from "../../src/engine/producer.ts";
import { IntervalSchedule } from "../../src/engine/schedules.ts";
import { TaskWorker } from "../../src/engine/worker.ts";
import { LockManager } from "../../src/locks/index.ts";
import { DummyJobExecutorMonitorTask } from "../../tasks/jobs/dummy-executor.ts";
import { resetInFlightJobs } from "../../tasks/jobs/reset-in-flight-jobs.ts";
import { waitFor } from "../engine/support.ts";
import { RedisServer } from "../support/redis.ts";
import { insertJobs, setupTaskEnv, statuses, type TaskEnv } from "./harness.ts";

const jdl = `[ Executable = "run.sh"; Platform = "el9"; ]`;

describe("dummy job executor and broker-startup hook, on real workers (Redis + PostgreSQL)", () => {
  let redisServer: RedisServer;
  let te: TaskEnv;
  let producer: Producer;
  let redis: Redis;
  const workers: TaskWorker[] = [];
  // Left Received by the first test: the broker-startup hook finds it too.
  let unoptimised: number | undefined;

  before(async () => {
    redisServer = await RedisServer.start();
    te = await setupTaskEnv({ backend: "postgresql" });
    producer = new Producer({ connection: redisServer.url, registry: te.tasks });
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    const lockManager = new LockManager(redis);
    for (const size of ["small", "large"] as const) {
      const w = new TaskWorker({ size, concurrency: 2, connection: redisServer.url, registry: te.tasks, submitter: producer, openUnitOfWork: te.openUow, lockManager, logger: pino({ level: "silent" }) });
      await w.start();
      workers.push(w);
    }
  });
  after(async () => {
    for (const w of workers) await w.close(2_000);
    await producer.close();
    redis.disconnect();
    await te.close();
    await redisServer.stop();
  });

  it("reads its switch and interval from the environment when asked, not at import", () => {
    const saved = { ...process.env };
    try {
      delete process.env.DIRACX_TASKS_DUMMY_JOB_EXECUTOR_ENABLED;
      delete process.env.DIRACX_TASKS_DUMMY_JOB_EXECUTOR_INTERVAL_SECONDS;
      assert.equal(DummyJobExecutorMonitorTask.enabled, false);
      assert.equal((DummyJobExecutorMonitorTask.defaultSchedule as IntervalSchedule).seconds, 10);
      process.env.DIRACX_TASKS_DUMMY_JOB_EXECUTOR_ENABLED = "true";
      process.env.DIRACX_TASKS_DUMMY_JOB_EXECUTOR_INTERVAL_SECONDS = "3";
      assert.equal(DummyJobExecutorMonitorTask.enabled, true);
      assert.equal((DummyJobExecutorMonitorTask.defaultSchedule as IntervalSchedule).seconds, 3);
    } finally {
      process.env = saved;
    }
  });

  it("the monitor matches Waiting jobs from the task queues (not Received ones) and its executors, on the large queue, walk each to Done", async () => {
    const ids = await insertJobs(te, [{ jdl }, { jdl }, { jdl }]);
    [unoptimised] = await insertJobs(te, [{ jdl }]);
    await te.runOk("jobs:OptimizeJobsTask", { jobIds: ids });
    const monitorId = await producer.submit("jobs:DummyJobExecutorMonitorTask", {});
    // Read the job only once it is completed: a job object fetched earlier has no return value yet.
    const monitor = await waitFor("the monitor to complete", async () => {
      const q = producer.queue("small");
      return (await q.getJobState(monitorId)) === "completed" ? await q.getJob(monitorId) : undefined;
    });
    assert.equal(monitor.returnvalue, 3);
    await waitFor("every job Done", async () => Object.values(await statuses(te, ids)).every((s) => s === "Done"));
    assert.equal((await statuses(te, [unoptimised!]))[unoptimised!], "Received", "a job the optimiser has not queued is not matched");

    const executors = await waitFor("three executors recorded as completed", async () => {
      const done = (await producer.queue("large").getCompleted()).filter((j) => j.name === "jobs:DummyJobExecutorTask");
      return done.length === 3 ? done : undefined;
    });
    assert.deepEqual(executors.map((j) => j.data.args.jobId).sort(), [...ids].sort());
    assert.ok(executors.every((j) => j.data.meta.parentTaskId === monitorId), "spawned by the monitor");
    assert.equal(await producer.queue("medium").count(), 0, "nothing landed on the default size");

    const records = await te.jobLoggingDB().getRecords(ids);
    for (const id of ids) {
      const steps = records[id]!.map((r) => [r.Status, r.MinorStatus]);
      assert.deepEqual(steps[0], ["Received", "Job accepted"]);
      assert.deepEqual(steps.at(-4), ["Waiting", "Pilot Agent Submission"]);
      assert.deepEqual(steps.slice(-3), [["Matched", "DummyExecutor"], ["Running", "DummyExecutor"], ["Done", "DummyExecutor"]]);
    }
  });

  it("after a broker wipe, the hook re-submits optimisation of Received/Checking jobs and the executors of the dummy's jobs", async () => {
    const [received, checking, executing, done] = await insertJobs(te, [
      { jdl },
      { jdl, status: "Checking", minorStatus: "JobSanity" },
      { jdl, status: "Matched", minorStatus: "DummyExecutor" },
      { jdl, status: "Done" },
    ]);
    const found = await resetInFlightJobs(
      { redis, logger: pino({ level: "silent" }), epoch: "test" },
      { registry: te.registry, producer, env: { ...te.env, DIRACX_TASKS_DUMMY_JOB_EXECUTOR_ENABLED: "true" } },
    );
    assert.deepEqual(found, { toOptimize: [unoptimised, received, checking], toExecute: [executing] });
    await waitFor("jobs moved on by the re-submitted tasks", async () => {
      const st = await statuses(te, [received!, checking!, executing!, done!]);
      return st[received!] !== "Received" && st[checking!] !== "Checking" && st[executing!] === "Done" ? st : undefined;
    });
    // The task's writes commit just before BullMQ records it as completed.
    const optimisers = await waitFor("the optimiser task recorded as completed", async () => {
      const done = (await producer.queue("small").getCompleted()).filter((j) => j.name === "jobs:OptimizeJobsTask");
      return done.length ? done : undefined;
    });
    assert.deepEqual(optimisers.map((j) => j.data.args.jobIds), [[unoptimised, received, checking]]);
    assert.equal(priorityFromBullmq(optimisers[0]!.opts.priority), "realtime");
  });
});
