import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Queue } from "bullmq";
import type { BrokerConnection } from "../../src/redis-cluster.ts";
import { RedisServer } from "../support/redis.ts";
import { BULL_PREFIX } from "../../src/scheduler/engine-bridge.ts";
import { DueJobWaker } from "../../src/scheduler/due-waker.ts";
import { logger } from "../../src/logging.ts";
import { connect } from "./support.ts";

let server: RedisServer;
let redis: BrokerConnection;
let queue: Queue;

before(async () => {
  server = await RedisServer.start();
  redis = connect(server.url);
  queue = new Queue("tasks-small", { connection: redis, prefix: BULL_PREFIX });
});

after(async () => {
  await queue.close();
  redis.disconnect();
  await server.stop();
});

// The marker is what a blocked worker waits on; "0" at score 0 is BullMQ's own "a job is ready".
const readyMarker = (): Promise<string | null> => redis.zscore(queue.keys.marker!, "0");

test("the waker adds the ready marker once the earliest delayed job is due, once per due time, never before", async () => {
  const job = await queue.add("demo:Later", {}, { delay: 60_000 });
  const due = job.timestamp + 60_000;
  await redis.del(queue.keys.marker!);
  const waker = new DueJobWaker(redis, [queue], { logger });

  // Not due yet: nothing is woken; the next look is just after the job's time, or sooner when it
  // is far off (a job delayed less may be added meanwhile).
  assert.equal(await waker.tick(due - 100), due + 1);
  assert.ok((await waker.tick(due - 10_000)) < due - 9_000);
  assert.equal(await readyMarker(), null);

  // Due: the workers are woken (they then promote it themselves).
  await waker.tick(due + 1);
  assert.equal(await readyMarker(), "0");

  // Still there (every worker busy): not woken again for the same due time.
  await redis.del(queue.keys.marker!);
  await waker.tick(due + 200);
  assert.equal(await readyMarker(), null);
  // The job itself is untouched: still delayed, to be promoted by a worker.
  assert.equal(await job.getState(), "delayed");
});
