// An honest broker wipe (src/scheduler/wipe-accounting.ts): the scheduler snapshots the queue
// depths into TaskDB; after FLUSHALL the scheduler that finds the broker fresh logs and records
// how many tasks were lost per size and priority, counts them in a metric, and `status` (text and
// --json, a real CLI process) shows the loss. Real Redis, PostgreSQL, producer and scheduler.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { RedisServer } from "../support/redis.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { connect, waitFor } from "./support.ts";

const repo = path.resolve(import.meta.dirname, "../..");
const server = await RedisServer.start();
process.env.DIRACX_TASKS_REDIS_URL = server.url;
const { TaskDB } = await import("../../src/db/sql/task-db.ts");
const { getEngine, closeAllEngines } = await import("../../src/db/sql/engine.ts");
const { Producer } = await import("../../src/engine/producer.ts");
const { TaskRegistry } = await import("../../src/engine/task-registry.ts");
const { Scheduler } = await import("../../src/scheduler/scheduler.ts");
const { metricsRegistry } = await import("../../src/engine/metrics.ts");
const fixture = await import("../fixtures/trust-app/tasks.ts");

describe("broker wipe accounting", () => {
  const redis = connect(server.url);
  const producer = new Producer({ connection: server.url, registry: TaskRegistry.fromClasses(fixture.taskClasses) });
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    }),
  );
  let dbUrl: string;
  let taskDB: InstanceType<typeof TaskDB>;
  let scheduler: InstanceType<typeof Scheduler>;

  before(async () => {
    dbUrl = await createTestDatabase("wipes");
    await TaskDB.migrate(dbUrl);
    taskDB = new TaskDB(getEngine(dbUrl));
    scheduler = new Scheduler({
      redis,
      desired: () => ({ schedules: [], problems: [] }),
      // Snapshots are taken when the test says so (the period is longer than the test).
      wipeAccounting: { taskDB: () => new TaskDB(getEngine(dbUrl)), intervalMs: 3_600_000 },
      brokerCheckIntervalMs: 100,
      logger,
    });
    await scheduler.start();
  });
  after(async () => {
    await scheduler.stop();
    await producer.close();
    redis.disconnect();
    fixture.closeRecorder();
    await closeAllEngines();
    await server.stop();
  });

  it("queue N tasks, snapshot, FLUSHALL: the lost count matches N, per size and priority, in the log, TaskDB, the metric and `status`", async () => {
    // No worker runs: 30 small/normal, 12 medium/background, 5 delayed small/normal tasks.
    await producer.submitBulk(Array.from({ length: 30 }, (_, n) => ({ task: "trust:Greet", args: { name: `g${n}` } })));
    await producer.submitBulk(Array.from({ length: 12 }, (_, n) => ({ task: "trust:Sleepy", args: { n } })));
    for (let n = 0; n < 5; n++) await producer.submit("trust:Greet", { name: `later${n}` }, { delay: 3_600_000 });
    const N = 30 + 12 + 5;
    assert.equal(await scheduler.wipes!.snapshot(), true);
    const epochBefore = await redis.get("{diracx}:broker:epoch");

    await redis.flushall();
    const [wipe] = await waitFor("the wipe recorded", async () => {
      const w = await taskDB.brokerWipes(1);
      return w.length ? w : undefined;
    });
    assert.equal(wipe!.lostTotal, N);
    assert.equal(wipe!.previousEpoch, epochBefore);
    assert.notEqual(wipe!.epoch, epochBefore);
    const small = wipe!.lost.find((d) => d.size === "small")!;
    const medium = wipe!.lost.find((d) => d.size === "medium")!;
    assert.deepEqual([small.waiting.normal, small.delayed, medium.waiting.background], [30, 5, 12]);

    const line = lines.find((l) => typeof l.msg === "string" && l.msg.startsWith("broker wiped:"));
    assert.ok(line, "one line tells the operator");
    assert.equal(line.lost, N);
    assert.match(String(line.msg), /^broker wiped: 47 tasks lost \(as of the queue snapshot \d+ s before: small\/normal 30, small delayed 5, medium\/background 12\)/);

    const metric = (await metricsRegistry.getSingleMetric("diracx_tasks_lost_on_wipe_total")!.get()).values;
    assert.equal(metric.reduce((n, v) => n + v.value, 0), N);
    assert.equal(metric.find((v) => v.labels.size === "small" && v.labels.priority === "normal")?.value, 30);

    // A second check of the same fresh broker records nothing twice.
    await scheduler.wipes!.onFreshBroker(wipe!.epoch);
    assert.equal((await taskDB.brokerWipes(10)).length, 1);

    const env = { ...process.env, DIRACX_TASKS_REDIS_URL: server.url, DIRACX_DB_URL_TASKDB: dbUrl, DIRACX_APP_ROOT: path.join(repo, "test/fixtures/trust-app") };
    const cli = (...args: string[]) => promisify(execFile)(process.execPath, [path.join(repo, "bin/diracx-tasks.mjs"), "status", ...args], { env, encoding: "utf8" });
    const text = await cli();
    assert.match(text.stdout, /^last broker wipe: \S+: 47 tasks lost \(as of the snapshot at \S+: small\/normal 30, small delayed 5, medium\/background 12\)$/m);
    const json = JSON.parse((await cli("--json")).stdout) as { brokerWipe: { lost: number; epoch: string } };
    assert.equal(json.brokerWipe.lost, N);
    assert.equal(json.brokerWipe.epoch, wipe!.epoch);
  });
});
