// Dead letters are written through (src/engine/dead-letter.ts): straight to TaskDB while it
// answers, through the Redis outbox only when it does not. So a broker wiped (FLUSHALL) while
// tasks are failing for good loses none of the dead letters already handed out: every task BullMQ
// saw fail is in TaskDB, and the outbox was never needed. The drainer here never drains (kick is
// a no-op), so whatever reached TaskDB got there by the write-through alone.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { flushBroker, RedisServer, redisClient } from "../support/redis.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { waitFor } from "./support.ts";

const server = await RedisServer.start();
process.env.DIRACX_TASKS_REDIS_URL = server.url;
const { TaskDB } = await import("../../src/index.ts");
const { Producer, TaskRegistry, TaskWorker, DeadLetterDrainer, outboxSize } = await import("../../src/entries/ops.ts");
const { getEngine, closeAllEngines } = await import("../../src/entries/db.ts");
const { openNoDependencies } = await import("../../src/engine/execution.ts");
const fixture = await import("../fixtures/trust-app/tasks.ts");

const registry = TaskRegistry.fromClasses(fixture.taskClasses);

/** A drainer that never copies the outbox: only the write-through can put entries in TaskDB. */
class NeverDrains extends DeadLetterDrainer {
  override kick(): void {}
}

describe("write-through dead letters survive a broker wipe", () => {
  const redis = redisClient(server.url, { maxRetriesPerRequest: null });
  const producer = new Producer({ connection: server.url, registry });
  let taskDB: InstanceType<typeof TaskDB>;
  let worker: InstanceType<typeof TaskWorker>;

  before(async () => {
    const dbUrl = await createTestDatabase("dlqwipe");
    await TaskDB.migrate(dbUrl);
    taskDB = new TaskDB(getEngine(dbUrl));
    const drainer = new NeverDrains({ redis, taskDB: () => new TaskDB(getEngine(dbUrl)) });
    worker = new TaskWorker({ size: "small", concurrency: 4, connection: server.url, registry, submitter: producer, openUnitOfWork: openNoDependencies, deadLetters: drainer, logger: pino({ level: "silent" }) });
  });
  after(async () => {
    await worker.close(1_000);
    await producer.close();
    redis.disconnect();
    fixture.closeRecorder();
    await closeAllEngines();
    await server.stop();
  });

  it("FLUSHALL while eligible tasks fail for good: every one BullMQ saw fail is in TaskDB, none in the outbox", async () => {
    const ids = await producer.submitBulk(Array.from({ length: 60 }, (_, n) => ({ task: "trust:Doomed", args: { n } })));
    const queue = producer.queue("small");
    await worker.start();
    // Mid-flight: some have failed for good, others wait or run.
    const failedBeforeWipe = await waitFor("a first batch of final failures", async () => {
      const failed = await queue.getFailed(0, -1);
      return failed.length >= 20 ? failed.map((j) => j.id!) : undefined;
    });
    assert.equal(await outboxSize(redis), 0, "nothing went through the outbox");
    await flushBroker(redis); // every master on a cluster
    await worker.close(1_000); // tasks it had already taken may still fail (and be written) until it stops

    const inTaskDB = new Set((await taskDB.list({ taskName: "trust:Doomed" }, { limit: 1_000 })).map((e) => e.taskId));
    for (const id of failedBeforeWipe) assert.ok(inTaskDB.has(id), `dead letter of ${id} survived the wipe`);
    assert.ok(inTaskDB.size <= ids.length);
    assert.equal(await taskDB.count({ taskName: "trust:Doomed" }), inTaskDB.size, "one entry per task");
    const entry = (await taskDB.list({ taskName: "trust:Doomed" }))[0]!;
    assert.equal(entry.lastErrorType, "DoomedError");
  });
});
