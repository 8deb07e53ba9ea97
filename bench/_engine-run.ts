// One throughput measurement of bench/engine.ts, in a fresh process so that
// nothing one side loads or turns on (async hooks, JIT state, heap) slows the other:
//   node --import tsx bench/_engine-run.ts <bullmq|noop|locked|bare|traced> <redis-url> <tasks>
// noop is the engine as shipped (metrics counted, tracing off); bare the same with the metric
// updates stubbed out; traced the same with tracing on and spans kept by an in-memory exporter.
// Runs a warm-up batch, then prints {"rate": <tasks per second>, "cpu": {...}} on stdout: the
// CPU accounting of the measured drain, per task — the worker's Node CPU (process.cpuUsage), the
// Redis server's (INFO cpu) and the commands Redis ran (INFO stats), which vary far less from one
// process to the next than throughput does.
// The engine measured is the compiled build (dist/, what plain `node` runs in production;
// bench/engine.ts builds it first); BENCH_ENGINE_BUILD=src measures the sources through tsx.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { z } from "zod";
import type { ContextOf } from "../src/engine/task.ts";
import type { Lock } from "../src/locks/index.ts";
import type { CpuPerTask } from "./_support.ts";

const fromSources = process.env.BENCH_ENGINE_BUILD === "src";
/** A module of the engine, compiled or from the sources (the types are the sources' either way). */
function engine<T>(module: string): Promise<T> {
  return import(fromSources ? `../src/${module}.ts` : `../dist/src/${module}.js`) as Promise<T>;
}
const { openNoDependencies } = await engine<typeof import("../src/engine/execution.ts")>("engine/execution");
const { BULL_PREFIX } = await engine<typeof import("../src/engine/keys.ts")>("engine/keys");
const { queueNameFor } = await engine<typeof import("../src/engine/priorities.ts")>("engine/priorities");
const { Producer } = await engine<typeof import("../src/engine/producer.ts")>("engine/producer");
const { defineTask } = await engine<typeof import("../src/engine/task.ts")>("engine/task");
const { TaskRegistry } = await engine<typeof import("../src/engine/task-registry.ts")>("engine/task-registry");
const { TaskWorker } = await engine<typeof import("../src/engine/worker.ts")>("engine/worker");
const { metrics, TaskSeries } = await engine<typeof import("../src/engine/metrics.ts")>("engine/metrics");
const { disableTracing, enableTracing } = await engine<typeof import("../src/observability/tracing.ts")>("observability/tracing");
const { ConcurrencyLimiter, LockManager, MutexLock } = await engine<typeof import("../src/locks/index.ts")>("locks/index");

const [mode, url, tasksArg] = process.argv.slice(2);
const TASKS = Number(tasksArg);
const WARMUP = Math.min(2_000, TASKS);
const CONCURRENCY = 16;
if (!url || !["bullmq", "noop", "locked", "bare", "traced", "metrics-ab"].includes(mode ?? "") || !(TASKS > 0)) {
  console.error("usage: _engine-run.ts <bullmq|noop|locked|bare|traced|metrics-ab> <redis-url> <tasks>");
  process.exit(2);
}

/** Turns every metric update the engine makes on or off: the per-task series (the hot path) and prom-client's own. */
const metricUpdates = (() => {
  const series = { count: TaskSeries.prototype.count, observeDuration: TaskSeries.prototype.observeDuration };
  const own = (Object.values(metrics) as { inc?: unknown; observe?: unknown }[]).map((m) => ({ m, inc: m.inc, observe: m.observe }));
  const none = () => {};
  return (on: boolean) => {
    TaskSeries.prototype.count = on ? series.count : none;
    TaskSeries.prototype.observeDuration = on ? series.observeDuration : none;
    for (const o of own) {
      if (o.inc) o.m.inc = on ? o.inc : none;
      if (o.observe) o.m.observe = on ? o.observe : none;
    }
  };
})();
if (mode === "bare") metricUpdates(false);
let spansExported: (() => Promise<number>) | undefined;
if (mode === "traced") {
  const { InMemorySpanExporter } = await import("@opentelemetry/sdk-trace");
  /** Counts what it is sent, so that a processor dropping spans (which would look cheap) is caught. */
  class CountingExporter extends InMemorySpanExporter {
    count = 0;
    override export(...[spans, done]: Parameters<InstanceType<typeof InMemorySpanExporter>["export"]>): void {
      this.count += spans.length;
      super.export(spans, done);
    }
  }
  const exporter = new CountingExporter();
  // Batched, as the OTLP exporter of a real deployment is.
  await enableTracing({ exporter, processor: "batch" });
  // Spans are kept only as long as a real exporter would hold them before sending.
  setInterval(() => exporter.reset(), 1_000).unref();
  spansExported = async () => {
    await disableTracing(); // flushes the last batch
    return exporter.count;
  };
}

class Noop extends defineTask({ args: z.object({ i: z.number() }), size: "medium" }) {
  async execute(_ctx: ContextOf<typeof Noop>) {
    return null;
  }
}
/** A mutex per task plus an enabled concurrency limiter: two lock scripts per attempt. */
class Locked extends defineTask({ args: z.object({ i: z.number() }), size: "medium" }) {
  override locks(): Lock[] {
    return [new MutexLock("task", "Locked", this.args.i), new ConcurrencyLimiter("task", "Locked", { limit: 10_000 })];
  }
  async execute(_ctx: ContextOf<typeof Locked>) {
    return null;
  }
}

async function startProfile(): Promise<{ stop(file: string): Promise<void> }> {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
  return {
    async stop(file) {
      const { profile } = await session.post("Profiler.stop");
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

const redis = new Redis(url, { maxRetriesPerRequest: null });
const registry = TaskRegistry.fromClasses({ "bench:Noop": Noop, "bench:Locked": Locked });
// As in production, the worker applies the retention (the same 60 s as plain BullMQ's jobs carry); jobs do not carry it.
const RETENTION = { completedSeconds: 60, failedSeconds: 60 };
const producer = new Producer({ connection: redis, registry });

/** Resolves once `n` tasks completed on `worker` (an event, not a poll). */
function completions(worker: Worker, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0;
    worker.on("completed", () => {
      if (++done === n) resolve();
    });
    worker.on("failed", (job, err) => reject(new Error(`benchmark task ${job?.id} failed: ${err.message}`)));
  });
}

async function fill(n: number): Promise<void> {
  if (mode === "bullmq") {
    const q = new Queue(queueNameFor("medium"), { connection: redis, prefix: BULL_PREFIX });
    await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: "noop", data: { i }, opts: { priority: 1, removeOnComplete: { age: 60 } } })));
    await q.close();
  } else {
    await producer.submitBulk(Array.from({ length: n }, (_, i) => ({ task: mode === "locked" ? "bench:Locked" : "bench:Noop", args: { i } })));
  }
}

/** Write system calls this process made so far (Linux's /proc/self/io; undefined elsewhere). */
async function writeCalls(): Promise<number | undefined> {
  const io = await readFile("/proc/self/io", "utf8").catch(() => "");
  const m = /^syscw: (\d+)/m.exec(io);
  return m ? Number(m[1]) : undefined;
}

/** Redis's CPU seconds (user + system) and commands processed so far. */
async function redisCounters(): Promise<{ cpuS: number; calls: number }> {
  const info = await redis.info();
  const read = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? NaN);
  return { cpuS: read("used_cpu_user") + read("used_cpu_sys"), calls: read("total_commands_processed") };
}

/** Starts a worker, waits until `n` queued tasks are done, reports tasks per second (and CPU per task), then stops the worker. */
async function drain(n: number, report: (rate: number, cpu: CpuPerTask) => void = () => {}): Promise<void> {
  let worker: Worker;
  let start: () => Promise<void>;
  let close: () => Promise<void>;
  if (mode === "bullmq") {
    const connection = new Redis(url!, { maxRetriesPerRequest: null });
    worker = new Worker(queueNameFor("medium"), async () => null, { connection, prefix: BULL_PREFIX, concurrency: CONCURRENCY, autorun: false });
    start = async () => {
      void worker.run();
      await worker.waitUntilReady();
    };
    close = async () => {
      await worker.close();
      connection.disconnect();
    };
  } else {
    const tw = new TaskWorker({ size: "medium", concurrency: CONCURRENCY, connection: url!, registry, submitter: producer, openUnitOfWork: openNoDependencies, lockManager: new LockManager(redis), retention: RETENTION });
    worker = tw.worker;
    start = () => tw.start();
    close = () => tw.close(1_000);
  }
  const done = completions(worker, n);
  const r0 = await redisCounters();
  const w0 = await writeCalls();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await start();
  await done;
  const elapsedS = (performance.now() - t0) / 1000;
  const c1 = process.cpuUsage(c0);
  const w1 = await writeCalls();
  const r1 = await redisCounters();
  // The INFO calls themselves count as commands (and writes): a few in n tasks, below the rounding.
  const writes = w0 !== undefined && w1 !== undefined ? { writes: (w1 - w0) / n } : {};
  report(n / elapsedS, { nodeUs: (c1.user + c1.system) / n, redisUs: ((r1.cpuS - r0.cpuS) * 1e6) / n, redisCalls: (r1.calls - r0.calls) / n, ...writes });
  await close();
}

await redis.flushall();
await fill(WARMUP);
await drain(WARMUP);
if (mode === "metrics-ab") {
  // The cost of metrics alone is far below the drift between processes, so it is measured in
  // one process: drains with metric updates on and off in turn (off-on, on-off, …), a ratio per pair.
  const ratios: number[] = [];
  const onRates: number[] = [];
  for (let pair = 0; pair < 4; pair++) {
    const rates = new Map<boolean, number>();
    for (const on of pair % 2 ? [true, false] : [false, true]) {
      metricUpdates(on);
      await redis.flushall();
      await fill(TASKS / 2);
      await drain(TASKS / 2, (rate) => rates.set(on, rate));
    }
    ratios.push(rates.get(true)! / rates.get(false)!);
    onRates.push(rates.get(true)!);
  }
  const mid = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  process.stdout.write(`${JSON.stringify({ rate: mid(onRates), ratio: mid(ratios) })}\n`);
  await producer.close();
  redis.disconnect();
  process.exit(0);
}

await redis.flushall();
await fill(TASKS);
// BENCH_ENGINE_PROFILE=<dir>: a CPU profile of the measured drain only (not the warm-up or the fill).
const profileDir = process.env.BENCH_ENGINE_PROFILE;
const profiler = profileDir ? await startProfile() : undefined;
let measured = 0;
let cpu: CpuPerTask | undefined;
await drain(TASKS, (rate, perTask) => {
  measured = rate;
  cpu = perTask;
});
// Every attempt of the warm-up and the measurement has its span (traced mode).
const spans = spansExported ? await spansExported() : undefined;
process.stdout.write(`${JSON.stringify({ rate: measured, cpu, ...(spans !== undefined ? { spans, attempts: WARMUP + TASKS } : {}) })}\n`);
if (profiler && profileDir) await profiler.stop(path.join(profileDir, `${mode}.cpuprofile`));
await producer.close();
redis.disconnect();
