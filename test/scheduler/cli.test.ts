import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { BrokerConnection } from "../../src/redis-cluster.ts";
import { RedisServer } from "../support/redis.ts";
import { main } from "../../src/cli/main.ts";
import { Scheduler } from "../../src/scheduler/scheduler.ts";
import { computeDesiredSchedules } from "../../src/scheduler/desired.ts";
import type { ScheduleStatus } from "../../src/scheduler/admin.ts";
import { connect, periodic } from "./support.ts";

let server: RedisServer;
let redis: BrokerConnection;
let scheduler: Scheduler;

before(async () => {
  server = await RedisServer.start();
  redis = connect(server.url);
  const tasks = [periodic("demo:Nightly", { kind: "cron", expression: "0 3 * * *" }, { voAware: true })];
  scheduler = new Scheduler({ redis, desired: () => computeDesiredSchedules(tasks, { vos: ["lhcb"], tasksConfig: undefined }) });
  await scheduler.start();
});
after(async () => {
  await scheduler.stop();
  redis.disconnect();
  await server.stop();
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const w1 = process.stdout.write.bind(process.stdout);
  const w2 = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    const code = await main(["node", "diracx-tasks", "schedules", "--redis-url", server.url, ...args]);
    return { code, out, err };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

test("schedules list --json, pause, and a clear error for an unknown id", async () => {
  const listed = await run("list", "--json");
  assert.equal(listed.code, 0);
  const rows = JSON.parse(listed.out) as ScheduleStatus[];
  assert.deepEqual(rows.map((r) => [r.id, r.task, r.vo, r.kind, r.paused]), [["demo:Nightly@lhcb", "demo:Nightly", "lhcb", "cron", false]]);
  assert.equal((await run("pause", "demo:Nightly@lhcb")).out, "paused demo:Nightly@lhcb\n");
  const text = await run("list");
  assert.match(text.out, /demo:Nightly@lhcb\s+demo:Nightly\s+lhcb\s+-\s+cron:0 3 \* \* \*\s+-\s+-\s+-\s+yes/);
  const bad = await run("trigger", "demo:Nope");
  assert.equal(bad.code, 1);
  assert.equal(bad.err, "diracx-tasks: unknown schedule 'demo:Nope' (known: demo:Nightly@lhcb)\n");
});
