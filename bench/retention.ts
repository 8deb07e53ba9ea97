// Retention bench: Redis bytes per queued task and per retained completed task, through our
// producer and workers on a private redis-server, beside plain BullMQ (Queue.add of the same
// args, a bare Worker) in the same run; then what the default retention (DIRACX_TASKS_KEEP_*:
// count and age per size queue) bounds Redis to, and that the count bound holds.
//   DIRACX_BENCH_TASKS   tasks per phase (default 5,000)
// Figures are used_memory deltas (INFO memory) divided by the number of tasks, and the per-key
// part (MEMORY USAGE of the job hashes and the completed set; BullMQ's event stream is capped at
// ~10,000 entries per queue whatever the rate, so it is reported once, not per task).
import { setTimeout as sleep } from "node:timers/promises";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { z } from "zod";
import { RedisServer } from "../test/support/redis.ts";
import { emitter } from "./_support.ts";

process.env.DIRACX_LOG_LEVEL ??= "warn";
const { defineTask } = await import("../src/index.ts");
const { Producer, TaskRegistry, TaskWorker } = await import("../src/entries/ops.ts");
const { openNoDependencies } = await import("../src/engine/execution.ts");
const { retentionOf } = await import("../src/engine/retention.ts");
const { TasksSettings } = await import("../src/settings.ts");
const { SIZES } = await import("../src/engine/priorities.ts");

const emit = emitter("retention", 2);
const n = Number(process.env.DIRACX_BENCH_TASKS ?? 5_000);
const MiB = 1024 * 1024;

/** A typical DiracX task: a few job ids. */
class Noop extends defineTask({ args: z.object({ jobIds: z.array(z.number().int()) }), size: "small" }) {
  override locks() {
    return [];
  }
  async execute() {
    return null;
  }
}
const args = (i: number) => ({ jobIds: [1_000_000 + i, 1_000_001 + i, 1_000_002 + i] });

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 600_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench timed out waiting for ${what}`);
    await sleep(50);
  }
}

const server = await RedisServer.start();
const redis = new Redis(server.url);

async function usedMemory(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? NaN);
}

/** MEMORY USAGE summed over the keys matching `pattern`, split into the event streams and the rest. */
async function keyBytes(pattern: string): Promise<{ jobs: number; events: number }> {
  let cursor = "0";
  const out = { jobs: 0, events: 0 };
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    for (const k of keys) {
      const bytes = Number(await redis.call("MEMORY", "USAGE", k, "SAMPLES", "0"));
      if (k.endsWith(":events")) out.events += bytes;
      else out.jobs += bytes;
    }
  } while (cursor !== "0");
  return out;
}

async function fresh(): Promise<number> {
  await redis.flushall();
  await sleep(100);
  return usedMemory();
}

// ---- ours: queued, then completed (default retention)
const registry = TaskRegistry.fromClasses({ "bench:Noop": Noop });
const producer = new Producer({ connection: server.url, registry });
let base = await fresh();
for (let i = 0; i < n; i += 1_000) await producer.submitBulk(Array.from({ length: Math.min(1_000, n - i) }, (_, j) => ({ task: "bench:Noop", args: args(i + j) })));
const oursQueued = (await usedMemory()) - base;
const worker = new TaskWorker({ size: "small", concurrency: 50, connection: server.url, registry, submitter: producer, openUnitOfWork: openNoDependencies });
await worker.start();
await until("our tasks completed", async () => (await producer.queue("small").getCompletedCount()) >= n);
const oursCompleted = (await usedMemory()) - base;
const oursKeys = await keyBytes("{diracx}:*");
await worker.close();

// ---- ours again, with Redis keeping small hashes compact (hash-max-listpack-value 512, README
// "Retention"): a job hash whose every field fits is stored as one listpack, not a hash table.
await fresh();
const defaultListpack = ((await redis.config("GET", "hash-max-listpack-value")) as string[])[1] ?? "64";
await redis.config("SET", "hash-max-listpack-value", "512");
const w1 = new TaskWorker({ size: "small", concurrency: 50, connection: server.url, registry, submitter: producer, openUnitOfWork: openNoDependencies });
await w1.start();
for (let i = 0; i < n; i += 1_000) await producer.submitBulk(Array.from({ length: Math.min(1_000, n - i) }, (_, j) => ({ task: "bench:Noop", args: args(i + j) })));
await until("our tasks completed (listpack 512)", async () => (await producer.queue("small").getCompletedCount()) >= n);
const compactKeys = await keyBytes("{diracx}:*");
await w1.close();
await redis.config("SET", "hash-max-listpack-value", defaultListpack);

// ---- plain BullMQ: the same args, default options (completed jobs kept forever)
base = await fresh();
const plain = new Queue("plain", { connection: redis });
for (let i = 0; i < n; i += 1_000) await plain.addBulk(Array.from({ length: Math.min(1_000, n - i) }, (_, j) => ({ name: "noop", data: args(i + j) })));
const plainQueued = (await usedMemory()) - base;
const bare = new Worker("plain", async () => null, { connection: { host: "127.0.0.1", port: new URL(server.url).port ? Number(new URL(server.url).port) : 6379, maxRetriesPerRequest: null }, concurrency: 50 });
await until("plain jobs completed", async () => (await plain.getCompletedCount()) >= n);
const plainCompleted = (await usedMemory()) - base;
const plainKeys = await keyBytes("bull:plain:*");
await bare.close();
await plain.close();

emit("queued.bytes-per-task", oursQueued / n, "bytes", "per waiting task (job hash, priority set, events)");
emit("queued.bytes-per-task.bullmq", plainQueued / n, "bytes", "plain BullMQ, same args");
emit("completed.bytes-per-task", oursKeys.jobs / n, "bytes", "per retained completed task (job hash + completed set)");
emit("completed.bytes-per-task.bullmq", plainKeys.jobs / n, "bytes", "plain BullMQ, same args");
emit("completed.used-memory-per-task", oursCompleted / n, "bytes", "used_memory delta per completed task, events stream included");
emit("completed.used-memory-per-task.bullmq", plainCompleted / n, "bytes", "plain BullMQ");
emit("completed.mib-per-1000", (oursKeys.jobs / n) * 1000 / MiB, "MiB", "<= 0.3 MiB per 1,000, or defaults bounding a day at 100 tasks/s under 1 GiB");
emit("completed.bytes-per-task.listpack-512", compactKeys.jobs / n, "bytes", "with Redis hash-max-listpack-value 512");
emit("completed.mib-per-1000.listpack-512", (compactKeys.jobs / n) * 1000 / MiB, "MiB", "<= 0.3 MiB per 1,000");
emit("events-stream.mib-per-queue", oursKeys.events / MiB, "MiB", "capped (~10,000 events per queue) whatever the rate");

// ---- what the defaults bound Redis to: count per size queue, whatever the rate
const r = retentionOf(TasksSettings.fromEnv());
const perSecond = 100;
const keptPerQueue = Math.min(r.completedCount ?? Infinity, perSecond * r.completedSeconds);
const eventsCap = (oursKeys.events / Math.max(1, Math.min(n * 4, 10_000))) * 10_000; // ~10,000 entries per queue
const bound = SIZES.length * (keptPerQueue * (oursKeys.jobs / n) + eventsCap);
emit("completed.max-kept-per-queue-at-defaults", keptPerQueue, "tasks", `min(count ${r.completedCount}, 100 tasks/s x age ${r.completedSeconds} s)`);
emit("completed.max-mib-at-defaults", bound / MiB, "MiB", "< 1024 MiB for a day at 100 tasks/s (all sizes, event streams included)");

// ---- the count bound holds: a worker keeping 1,000 completed processes 2,000
await fresh();
const capped = 1_000;
const w2 = new TaskWorker({ size: "small", concurrency: 50, connection: server.url, registry, submitter: producer, openUnitOfWork: openNoDependencies, retention: { ...r, completedCount: capped } });
await w2.start();
const ids = await producer.submitBulk(Array.from({ length: 2 * capped }, (_, i) => ({ task: "bench:Noop", args: args(i) })));
await until("capped run finished", async () => (await producer.queue("small").getJobState(ids.at(-1)!)) === "completed" || (await producer.queue("small").getWaitingCount()) + (await producer.queue("small").getActiveCount()) === 0);
await until("capped run drained", async () => (await producer.queue("small").getActiveCount()) === 0 && (await producer.queue("small").getWaitingCount()) === 0);
emit("count-bound.kept", await producer.queue("small").getCompletedCount(), "tasks", `== ${capped} after ${2 * capped} completed (count bound ${capped})`);
await w2.close();

await producer.close();
redis.disconnect();
await server.stop();
