import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { BrokerConnection } from "../../src/redis-cluster.ts";
import type { Worker } from "bullmq";
import { RedisServer } from "../support/redis.ts";
import { Scheduler } from "../../src/scheduler/scheduler.ts";
import { computeDesiredSchedules } from "../../src/scheduler/desired.ts";
import { ScheduleAdmin, UnknownScheduleError } from "../../src/scheduler/admin.ts";
import { attachScheduleOutcomeRecorder } from "../../src/scheduler/state.ts";
import { connect, periodic, recordingWorker, waitFor, type Run } from "./support.ts";

let server: RedisServer;
let redis: BrokerConnection;
let scheduler: Scheduler;
let admin: ScheduleAdmin;
let worker: Worker;
const runs: Run[] = [];
const triggered: { name: string; args: unknown }[] = [];

const tasks = [
  periodic("demo:Fast", { kind: "interval", seconds: 1 }),
  periodic("demo:Failing", { kind: "interval", seconds: 1 }),
  periodic("demo:Daily", { kind: "cron", expression: "0 6 * * *", timezone: "Europe/Zurich" }, { voAware: true }),
];

before(async () => {
  server = await RedisServer.start();
  redis = connect(server.url);
  worker = recordingWorker(server.url, "tasks-small", runs, async (job) => {
    if (!job.repeatJobKey) triggered.push({ name: job.name, args: (job.data as { args: unknown }).args });
    if (job.name === "demo:Failing") throw new Error("boom: disk full");
    return "ok";
  });
  attachScheduleOutcomeRecorder(worker, redis);
  scheduler = new Scheduler({ redis, desired: () => computeDesiredSchedules(tasks, { vos: ["lhcb"], tasksConfig: undefined }) });
  await scheduler.start();
  admin = new ScheduleAdmin(redis);
});
after(async () => {
  await worker.close();
  await admin.close();
  await scheduler.stop();
  redis.disconnect();
  await server.stop();
});

test("list shows task, VO, kind, expression, next run, last run and last outcome", async () => {
  await waitFor("outcomes recorded", async () => {
    const l = await admin.list();
    return l.find((s) => s.id === "demo:Fast")?.lastOutcome === "completed" && l.find((s) => s.id === "demo:Failing")?.lastOutcome === "failed";
  });
  const list = await admin.list();
  const daily = list.find((s) => s.id === "demo:Daily@lhcb")!;
  assert.equal(daily.task, "demo:Daily");
  assert.equal(daily.vo, "lhcb");
  assert.equal(daily.kind, "cron");
  assert.equal(daily.schedule, "cron:0 6 * * * (Europe/Zurich)");
  assert.ok(daily.nextRunAt! > Date.now());
  assert.equal(new Intl.DateTimeFormat("en", { timeZone: "Europe/Zurich", hour: "numeric", hourCycle: "h23" }).format(new Date(daily.nextRunAt!)), "06");
  const failing = list.find((s) => s.id === "demo:Failing")!;
  assert.equal(failing.lastError, "boom: disk full");
  assert.ok(failing.lastRunAt! > 0);
  assert.equal(failing.paused, false);
});

test("pause stops the runs and survives a reconcile; resume brings them back", async () => {
  await admin.pause("demo:Fast");
  await scheduler.reconcile();
  const count = (): number => runs.filter((r) => r.schedule === "demo:Fast").length;
  const pausedAt = Date.now();
  const status = (await admin.list()).find((s) => s.id === "demo:Fast")!;
  assert.equal(status.paused, true);
  assert.equal(status.nextRunAt, undefined);
  const keys = (await scheduler.queues.get("tasks-small")!.getJobSchedulers()).map((s) => s.key);
  assert.ok(!keys.includes("demo:Fast"), "no job scheduler while paused");
  // Other schedules keep firing meanwhile: wait for two more runs of one of them, then check none of the paused one started.
  const failingBefore = runs.filter((r) => r.schedule === "demo:Failing").length;
  await waitFor("two more runs of another schedule", () => runs.filter((r) => r.schedule === "demo:Failing").length >= failingBefore + 2);
  assert.equal(runs.filter((r) => r.schedule === "demo:Fast" && r.nominal > pausedAt).length, 0, "no run of a paused schedule");

  const before = count();
  await admin.resume("demo:Fast");
  await waitFor("runs after resume", () => count() >= before + 2);
  assert.equal((await admin.list()).find((s) => s.id === "demo:Fast")!.paused, false);
});

test("trigger submits one run now with the schedule's args", async () => {
  const jobId = await admin.trigger("demo:Daily@lhcb");
  assert.ok(jobId);
  const got = await waitFor("the triggered run", () => triggered.find((t) => t.name === "demo:Daily"));
  assert.deepEqual(got.args, { vo: "lhcb" });
  await assert.rejects(admin.trigger("demo:Nope"), (err: unknown) => err instanceof UnknownScheduleError && /unknown schedule 'demo:Nope' \(known: /.test(err.message));
});
