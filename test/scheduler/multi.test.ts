import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { BrokerConnection } from "../../src/redis-cluster.ts";
import type { Worker } from "bullmq";
import { RedisServer, flushBroker } from "../support/redis.ts";
import { Scheduler, type ReconcileReason } from "../../src/scheduler/scheduler.ts";
import { computeDesiredSchedules } from "../../src/scheduler/desired.ts";
import type { ReconcileReport } from "../../src/scheduler/reconcile.ts";
import type { BrokerStartupContext } from "../../src/scheduler/broker-lifecycle.ts";
import { connect, periodic, recordingWorker, waitFor, type Run } from "./support.ts";

let server: RedisServer;
const clients: BrokerConnection[] = [];
const schedulers: Scheduler[] = [];
let worker: Worker;
const runs: Run[] = [];
const hookRuns: string[] = [];

const tasks = [
  periodic("demo:EverySecond", { kind: "cron", expression: "* * * * * *" }),
  periodic("demo:Interval", { kind: "interval", seconds: 1 }),
  periodic("demo:RRule", { kind: "rrule", rule: "FREQ=SECONDLY;INTERVAL=1" }),
];

function makeScheduler(url: string): Scheduler {
  const redis = connect(url);
  clients.push(redis);
  const s = new Scheduler({
    redis,
    desired: () => computeDesiredSchedules(tasks, { vos: [], tasksConfig: undefined }),
    hooks: [{ name: "count", hook: async (ctx: BrokerStartupContext) => void hookRuns.push(ctx.epoch) }],
    brokerCheckIntervalMs: 100,
  });
  schedulers.push(s);
  return s;
}

function nextReconcile(s: Scheduler, reason: ReconcileReason): Promise<ReconcileReport> {
  return new Promise((resolve) => {
    const on = (r: ReconcileReport, why: ReconcileReason): void => {
      if (why !== reason) return;
      s.off("reconciled", on);
      resolve(r);
    };
    s.on("reconciled", on);
  });
}

function assertNoDuplicates(): void {
  const seen = new Map<string, number>();
  for (const r of runs) {
    const key = `${r.schedule}@${r.nominal}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  const dups = [...seen].filter(([, n]) => n > 1);
  assert.deepEqual(dups, [], "every (schedule, nominal time) runs exactly once");
}

before(async () => {
  server = await RedisServer.start();
  worker = recordingWorker(server.url, "tasks-small", runs);
});
after(async () => {
  await worker.close();
  for (const s of schedulers) await s.stop();
  for (const c of clients) c.disconnect();
  await server.stop();
});

test("two schedulers started together, reconciling over and over, never double a run", async () => {
  const [a, b] = [makeScheduler(server.url), makeScheduler(server.url)];
  await Promise.all([a.start(), b.start()]);
  assert.equal(hookRuns.length, 1, "the startup hooks ran in exactly one of the two processes");
  const from = Date.now();
  // Concurrent reconciles while runs are being fired.
  for (let i = 0; i < 5; i++) await Promise.all([a.reconcile(), b.reconcile()]);
  for (const id of ["demo:EverySecond", "demo:Interval", "demo:RRule"]) {
    await waitFor(`4 runs of ${id}`, () => runs.filter((r) => r.schedule === id && r.nominal >= from).length >= 4);
  }
  assertNoDuplicates();
  for (const id of ["demo:EverySecond", "demo:Interval", "demo:RRule"]) {
    const nominal = runs.filter((r) => r.schedule === id).map((r) => r.nominal).sort((x, y) => x - y);
    for (let i = 1; i < nominal.length; i++) assert.equal(nominal[i]! - nominal[i - 1]!, 1000, `${id} keeps one period between runs: ${nominal.join(",")}`);
  }
});

test("after FLUSHALL the schedules come back and the startup hooks run exactly once more", async () => {
  const [a, b] = schedulers as [Scheduler, Scheduler];
  const back = Promise.all([nextReconcile(a, "broker"), nextReconcile(b, "broker")]);
  await flushBroker(clients[0]!);
  const wiped = Date.now();
  const reports = await back;
  assert.equal(hookRuns.length, 2, "one more hook run for the wiped broker, not one per scheduler");
  assert.notEqual(hookRuns[0], hookRuns[1], "a new broker epoch");
  const upserted = reports.flatMap((r) => r.upserted);
  assert.ok(upserted.includes("demo:EverySecond") && upserted.includes("demo:Interval") && upserted.includes("demo:RRule"));
  for (const id of ["demo:EverySecond", "demo:Interval", "demo:RRule"]) {
    await waitFor(`2 runs of ${id} after the wipe`, () => runs.filter((r) => r.schedule === id && r.startedAt >= wiped).length >= 2);
  }
  assertNoDuplicates();
});
