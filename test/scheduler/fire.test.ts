import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { BrokerConnection } from "../../src/redis-cluster.ts";
import type { Worker } from "bullmq";
import { RedisServer } from "../support/redis.ts";
import { Scheduler } from "../../src/scheduler/scheduler.ts";
import { computeDesiredSchedules } from "../../src/scheduler/desired.ts";
import { connect, periodic, recordingWorker, waitFor, type Run } from "./support.ts";

let server: RedisServer;
let redis: BrokerConnection;
let scheduler: Scheduler;
let worker: Worker;
const runs: Run[] = [];
let reconciledAt = 0;

before(async () => {
  server = await RedisServer.start();
  redis = connect(server.url);
  const tasks = [
    periodic("demo:CronTask", { kind: "cron", expression: "* * * * * *" }),
    periodic("demo:IntervalTask", { kind: "interval", seconds: 1 }),
    periodic("demo:RRuleTask", { kind: "rrule", rule: "FREQ=SECONDLY;INTERVAL=1" }),
  ];
  worker = recordingWorker(server.url, "tasks-small", runs);
  scheduler = new Scheduler({ redis, desired: () => computeDesiredSchedules(tasks, { vos: [], tasksConfig: undefined }) });
  const report = await scheduler.start();
  reconciledAt = Date.now();
  assert.deepEqual(report.upserted.sort(), ["demo:CronTask", "demo:IntervalTask", "demo:RRuleTask"]);
});

after(async () => {
  await worker.close();
  await scheduler.stop();
  redis.disconnect();
  await server.stop();
});

function runsOf(id: string): Run[] {
  return runs.filter((r) => r.schedule === id).sort((a, b) => a.nominal - b.nominal);
}

for (const id of ["demo:CronTask", "demo:IntervalTask", "demo:RRuleTask"]) {
  test(`${id} fires repeatedly, one period apart, never before its nominal time`, async () => {
    const got = await waitFor(`3 runs of ${id}`, () => (runsOf(id).length >= 3 ? runsOf(id) : undefined));
    const nominal = got.map((r) => r.nominal);
    for (let i = 1; i < nominal.length; i++) assert.equal(nominal[i]! - nominal[i - 1]!, 1000, `spacing of ${id}: ${nominal.join(", ")}`);
    for (const r of got) assert.ok(r.startedAt >= r.nominal, "a run never starts before its nominal time");
    // The first run is at most one period after the schedule was created, never a full period late.
    assert.ok(nominal[0]! <= reconciledAt + 1000, `first run of ${id} at ${nominal[0]} (created by ${reconciledAt})`);
  });
}

test("an interval schedule fires at once on creation", async () => {
  const first = await waitFor("first interval run", () => runsOf("demo:IntervalTask")[0]);
  assert.ok(first.nominal <= reconciledAt, "the first interval run is due at creation time");
});

test("a reconcile with nothing changed leaves the schedules and their pending runs alone", async () => {
  const before = await scheduler.queues.get("tasks-small")!.getJobSchedulers();
  const report = await scheduler.reconcile();
  assert.deepEqual(report.upserted, []);
  assert.deepEqual(report.unchanged.sort(), ["demo:CronTask", "demo:IntervalTask", "demo:RRuleTask"]);
  const afterSchedulers = await scheduler.queues.get("tasks-small")!.getJobSchedulers();
  assert.equal(afterSchedulers.length, before.length);
});
