// Two schedulers on one broker with different configurations: each says so (once), two with
// the same configuration say nothing; a stopped scheduler leaves the board.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import type { BrokerConnection } from "../../src/redis-cluster.ts";
import { pino } from "pino";
import { SCHEDULER_FINGERPRINTS_KEY } from "../../src/redis-keys.ts";
import { computeDesiredSchedules } from "../../src/scheduler/desired.ts";
import { Scheduler } from "../../src/scheduler/scheduler.ts";
import { RedisServer } from "../support/redis.ts";
import { connect, periodic } from "./support.ts";

let server: RedisServer;
let redis: BrokerConnection;
before(async () => {
  server = await RedisServer.start();
  redis = connect(server.url);
});
after(async () => {
  redis.disconnect();
  await server.stop();
});

/** A scheduler whose log lines are collected (level ≥ warn). */
function scheduler(schedule: string, vos: string[]): { s: Scheduler; warnings: { msg: string; fingerprint?: string; others?: unknown[] }[]; conn: BrokerConnection } {
  const warnings: { msg: string; fingerprint?: string; others?: unknown[] }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) warnings.push(JSON.parse(line) as (typeof warnings)[number]);
      cb();
    },
  });
  const conn = connect(server.url);
  const tasks = [periodic("demo:Nightly", { kind: "cron", expression: schedule }, { voAware: true })];
  const s = new Scheduler({ redis: conn, desired: () => computeDesiredSchedules(tasks, { vos, tasksConfig: undefined }), logger: pino({ level: "warn" }, sink), brokerCheckIntervalMs: 60_000 });
  return { s, warnings, conn };
}

const disagreements = (w: { msg: string }[]): number => w.filter((l) => /schedulers disagree on the configuration/.test(l.msg)).length;

test("schedulers on the same configuration agree silently", async () => {
  await redis.flushall();
  const a = scheduler("0 3 * * *", ["lhcb"]);
  const b = scheduler("0 3 * * *", ["lhcb"]);
  await a.s.start();
  await b.s.start();
  assert.deepEqual(await b.s.fingerprints.refresh(), []);
  assert.equal(disagreements([...a.warnings, ...b.warnings]), 0);
  assert.equal(await redis.hlen(SCHEDULER_FINGERPRINTS_KEY), 2);
  await a.s.stop();
  await b.s.stop();
  a.conn.disconnect();
  b.conn.disconnect();
  assert.equal(await redis.hlen(SCHEDULER_FINGERPRINTS_KEY), 0, "a stopped scheduler leaves the board");
});

test("two schedulers on different configurations both warn, once, naming the other", async () => {
  await redis.flushall();
  const a = scheduler("0 3 * * *", ["lhcb"]);
  const b = scheduler("0 4 * * *", ["lhcb", "gridpp"]);
  await a.s.start();
  await b.s.start(); // b sees a's fingerprint at its reconcile
  assert.equal(disagreements(b.warnings), 1, JSON.stringify(b.warnings));
  const [other] = (await a.s.fingerprints.refresh()) as { schedules: number; pid: number }[]; // a's heartbeat sees b's
  assert.equal(other?.schedules, 2);
  assert.equal(other?.pid, process.pid);
  assert.equal(disagreements(a.warnings), 1, JSON.stringify(a.warnings));
  // The same disagreement is not repeated on every heartbeat.
  await a.s.fingerprints.refresh();
  await b.s.fingerprints.refresh();
  assert.equal(disagreements([...a.warnings, ...b.warnings]), 2);
  const line = b.warnings.find((l) => /disagree/.test(l.msg))!;
  assert.notEqual(line.fingerprint, (line.others as { fingerprint: string }[])[0]!.fingerprint);
  await a.s.stop();
  await b.s.stop();
  a.conn.disconnect();
  b.conn.disconnect();
});
