import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Queue, type Worker } from "bullmq";
import type { BrokerConnection } from "../../src/redis-cluster.ts";
import { RedisServer, onCluster } from "../support/redis.ts";
import { Scheduler } from "../../src/scheduler/scheduler.ts";
import { computeDesiredSchedules } from "../../src/scheduler/desired.ts";
import { BROKER_EPOCH_KEY, BULL_PREFIX, HASH_TAG } from "../../src/redis-keys.ts";
import { connect, connectionOptions, periodic, recordingWorker, waitFor, type Run } from "./support.ts";

let server: RedisServer;
let redis: BrokerConnection;
let worker: Worker;
let scheduler: Scheduler | undefined;
let schedulerRedis: BrokerConnection | undefined;
const runs: Run[] = [];

before(async () => {
  server = await RedisServer.start();
  redis = connect(server.url);
  worker = recordingWorker(server.url, "tasks-small", runs);
});
after(async () => {
  await scheduler?.stop();
  schedulerRedis?.disconnect();
  await worker.close();
  redis.disconnect();
  await server.stop();
});

// The old layout (BullMQ prefix `diracx`, no hash tag) never ran on a cluster: its scripts cross
// slots. Old keys spread over the masters are dropped there too (test/cluster/cluster.test.ts).
const skip = onCluster && "the layout before the {diracx} hash tag cannot run on Redis Cluster";

test("a broker with the layout before the {diracx} hash tag is treated as wiped: hooks run, schedules re-created, old keys gone", { skip }, async () => {
  // What an installation of the previous version leaves behind: its epoch, a schedule hash
  // and a BullMQ job scheduler under the prefix `diracx`.
  await redis.set("diracx:broker:epoch", "2026-01-01T00:00:00.000Z/old");
  await redis.sadd("diracx:scheduler:schedules", "demo:Tick");
  await redis.hset("diracx:scheduler:schedule:demo:Tick", { id: "demo:Tick", task: "demo:Tick" });
  await redis.zadd("diracx:lock:mutex:task:demo:Tick", Date.now() + 60_000, "old-owner");
  const old = new Queue("tasks-small", { connection: connectionOptions(server.url), prefix: "diracx" });
  await old.upsertJobScheduler("demo:Tick", { every: 60_000 }, { name: "demo:Tick" });
  await old.close();

  const hooks: string[] = [];
  scheduler = new Scheduler({
    redis: (schedulerRedis = connect(server.url)),
    desired: () => computeDesiredSchedules([periodic("demo:Tick", { kind: "interval", seconds: 1 })], { vos: [], tasksConfig: undefined }),
    hooks: [{ name: "record", hook: async (ctx) => void hooks.push(ctx.epoch) }],
  });
  const started = Date.now();
  const report = await scheduler.start();

  assert.equal(hooks.length, 1, "the broker-startup hooks ran, as for a wiped broker");
  assert.equal(await redis.get(BROKER_EPOCH_KEY), hooks[0]);
  assert.deepEqual(report.upserted, ["demo:Tick"], "the schedule was re-created");
  assert.deepEqual(await redis.keys("diracx:*"), [], "nothing of the old layout is left");
  assert.ok((await redis.keys("*")).every((k) => k.startsWith(`${HASH_TAG}:`)), "every key is under the hash tag");
  assert.equal(BULL_PREFIX, HASH_TAG);
  await waitFor("2 runs of the re-created schedule", () => runs.filter((r) => r.schedule === "demo:Tick" && r.startedAt >= started).length >= 2);
});
