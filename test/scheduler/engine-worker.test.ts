// The scheduler and the engine's own TaskWorker together: a cron schedule with seconds keeps
// firing (the worker computes each next run with the scheduler's repeat strategy) and every
// run's outcome is recorded for `schedules list`.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, test } from "node:test";
import { RedisServer, redisClient } from "../support/redis.ts";
import { runs, waitFor } from "../engine/support.ts";

const appRoot = path.resolve(import.meta.dirname, "../fixtures/engine-app");
const server = await RedisServer.start();
process.env.DIRACX_TASKS_REDIS_URL = server.url;
const { createEngine, engineWorkerOptions } = await import("../../src/engine/wiring.ts");
const { TaskWorker } = await import("../../src/engine/worker.ts");
const { Scheduler } = await import("../../src/scheduler/scheduler.ts");
const { ScheduleAdmin } = await import("../../src/scheduler/admin.ts");
const { schedulerWorkerOptions } = await import("../../src/scheduler/state.ts");
const { computeDesiredSchedules, periodicTasks } = await import("../../src/scheduler/desired.ts");
const fixture = await import("../fixtures/engine-app/tasks.ts");

const redis = redisClient(server.url, { maxRetriesPerRequest: null });
let engine: Awaited<ReturnType<typeof createEngine>>;
let worker: InstanceType<typeof TaskWorker>;
let scheduler: InstanceType<typeof Scheduler>;

before(async () => {
  engine = await createEngine({ appRoot });
  worker = new TaskWorker({
    size: "small",
    concurrency: 2,
    ...engineWorkerOptions(engine),
    ...schedulerWorkerOptions(redis),
  });
  await worker.start();
  const tasks = periodicTasks(engine.tasks).filter((t) => t.taskId === "test:Ticker");
  scheduler = new Scheduler({ redis, desired: () => computeDesiredSchedules(tasks, { vos: [], tasksConfig: undefined }) });
  await scheduler.start();
});

after(async () => {
  await scheduler.stop();
  await worker.close(1_000);
  await engine.close();
  fixture.closeRecorder();
  redis.disconnect();
  await server.stop();
});

test("a cron schedule with seconds keeps firing through the engine's workers, and its last outcome is recorded", async () => {
  const got = await waitFor("3 runs of test:Ticker", async () => {
    const r = await runs(redis, "ticker");
    return r.length >= 3 ? r : undefined;
  });
  assert.equal(new Set(got.map((r) => r.taskId)).size, got.length, "each run is its own task");
  const admin = new ScheduleAdmin(redis);
  try {
    const status = await waitFor("a recorded outcome", async () => (await admin.list()).find((s) => s.id === "test:Ticker" && s.lastOutcome));
    assert.equal(status.lastOutcome, "completed");
    assert.ok(status.lastRunAt !== undefined && status.nextRunAt !== undefined && status.nextRunAt > status.lastRunAt);
  } finally {
    await admin.close();
  }
});
