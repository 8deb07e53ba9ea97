// Engine overhead against plain BullMQ on a private redis-server, same
// concurrency, same Redis: no-op tasks, tasks with a mutex + enabled
// concurrency limiter, and realtime start latency behind 50,000 waiting
// background tasks of the same size.
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { z } from "zod";
import { openNoDependencies } from "../src/engine/execution.ts";
import { BULL_PREFIX } from "../src/engine/keys.ts";
import { queueNameFor } from "../src/engine/priorities.ts";
import { Producer } from "../src/engine/producer.ts";
import { defineTask, type ContextOf } from "../src/engine/task.ts";
import { TaskRegistry } from "../src/engine/task-registry.ts";
import { TaskWorker } from "../src/engine/worker.ts";
import { ConcurrencyLimiter, LockManager, MutexLock, type Lock } from "../src/locks/index.ts";
import { RedisServer } from "../test/support/redis.ts";

const JOBS = Number(process.env.BENCH_ENGINE_JOBS ?? 4000);
const CONCURRENCY = 16;
const BACKLOG = 50_000;
const PROBES = 200;

class Noop extends defineTask({ args: z.object({ i: z.number() }), size: "medium" }) {
  async execute(_ctx: ContextOf<typeof Noop>) {
    return null;
  }
}
class Locked extends defineTask({ args: z.object({ i: z.number() }), size: "medium" }) {
  override locks(): Lock[] {
    return [new MutexLock("task", "Locked", this.args.i), new ConcurrencyLimiter("task", "Locked", { limit: 10_000 })];
  }
  async execute(_ctx: ContextOf<typeof Locked>) {
    return null;
  }
}
let onProbe: ((sentAt: number) => void) | undefined;
class Probe extends defineTask({ args: z.object({ sentAt: z.number() }), size: "medium", priority: "realtime" }) {
  async execute(_ctx: ContextOf<typeof Probe>) {
    onProbe?.(this.args.sentAt);
  }
}
class Filler extends defineTask({ args: z.object({ i: z.number() }), size: "medium", priority: "background" }) {
  async execute(_ctx: ContextOf<typeof Filler>) {
    return null;
  }
}

const emit = (figure: string, value: number, unit: string, target: string): void =>
  console.log(JSON.stringify({ bench: `engine.${figure}`, value: Math.round(value * 1000) / 1000, unit, target }));

const server = await RedisServer.start();
const redis = new Redis(server.url, { maxRetriesPerRequest: null });
const registry = TaskRegistry.fromClasses({ "bench:Noop": Noop, "bench:Locked": Locked, "bench:Probe": Probe, "bench:Filler": Filler });
const producer = new Producer({ connection: redis, registry, retention: { completedSeconds: 60, failedSeconds: 60 } });
const queue = producer.queue("medium");

async function drained(): Promise<void> {
  for (;;) {
    const c = await queue.getJobCounts("wait", "prioritized", "active", "delayed");
    if (Object.values(c).every((n) => n === 0)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Jobs per second through the engine's worker for `task`. */
async function engineRate(task: string): Promise<number> {
  await redis.flushall();
  await producer.submitBulk(Array.from({ length: JOBS }, (_, i) => ({ task, args: { i } })));
  const worker = new TaskWorker({
    size: "medium",
    concurrency: CONCURRENCY,
    connection: server.url,
    registry,
    submitter: producer,
    openUnitOfWork: openNoDependencies,
    lockManager: new LockManager(redis),
  });
  const t0 = performance.now();
  await worker.start();
  await drained();
  const rate = JOBS / ((performance.now() - t0) / 1000);
  await worker.close(1_000);
  return rate;
}

/** Jobs per second through a plain BullMQ worker with a no-op processor. */
async function plainRate(): Promise<number> {
  await redis.flushall();
  const q = new Queue(queueNameFor("medium"), { connection: redis, prefix: BULL_PREFIX });
  await q.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: "noop", data: { i }, opts: { priority: 1, removeOnComplete: { age: 60 } } })));
  const connection = new Redis(server.url, { maxRetriesPerRequest: null });
  const worker = new Worker(queueNameFor("medium"), async () => null, { connection, prefix: BULL_PREFIX, concurrency: CONCURRENCY, autorun: false });
  const t0 = performance.now();
  void worker.run();
  await drained();
  const rate = JOBS / ((performance.now() - t0) / 1000);
  await worker.close();
  await q.close();
  connection.disconnect();
  return rate;
}

try {
  const plain = await plainRate();
  const noop = await engineRate("bench:Noop");
  emit("noop_throughput_ratio", noop / plain, "ratio", ">= 0.8");
  const locked = await engineRate("bench:Locked");
  emit("locked_throughput_ratio", locked / plain, "ratio", ">= 0.5");

  // Realtime start latency while a large background backlog of the same size waits.
  await redis.flushall();
  for (let i = 0; i < BACKLOG; i += 5_000) {
    await producer.submitBulk(Array.from({ length: 5_000 }, (_, j) => ({ task: "bench:Filler", args: { i: i + j } })));
  }
  const worker = new TaskWorker({ size: "medium", concurrency: 8, connection: server.url, registry, submitter: producer, openUnitOfWork: openNoDependencies });
  await worker.start();
  const latencies: number[] = [];
  for (let i = 0; i < PROBES; i++) {
    const started = new Promise<void>((resolve) => {
      onProbe = (sentAt) => {
        latencies.push(Date.now() - sentAt);
        resolve();
      };
    });
    await producer.submit("bench:Probe", { sentAt: Date.now() });
    await started;
  }
  const backlogLeft = (await queue.getJobCounts("prioritized")).prioritized ?? 0;
  await worker.close(1_000);
  latencies.sort((a, b) => a - b);
  emit("realtime_p99_start_latency", latencies[Math.ceil(latencies.length * 0.99) - 1] ?? NaN, "ms", "<= 20");
  if (backlogLeft === 0) console.error("warning: the background backlog drained before the probes ended");
} finally {
  await producer.close();
  redis.disconnect();
  await server.stop();
}
