// Engine overhead against plain BullMQ on a private redis-server, same
// concurrency, same Redis: no-op tasks, tasks with a mutex + an enabled
// concurrency limiter, and realtime start latency behind 50,000 waiting
// background tasks of the same size.
//
// Each throughput is measured in a fresh process (bench/_engine-run.ts, which
// warms up first) so neither side inherits the other's state, in interleaved
// rounds (BullMQ, engine, engine with locks, …; each round starts one mode further
// along) because shared VMs drift by tens of percent between runs; each ratio is
// the median of its per-round ratios.
// Worker logs go to /dev/null (a log reader that never pushes back). The throughputs are those of
// the compiled build (dist/, built here from the current sources), as production runs it.
// The Redis server and each measured process are pinned to CPUs of their own (taskset), as on
// a deployment where Redis has its own host: on a 2-core VM, the scheduler moving the two
// between the cores otherwise costs both sides a third of their throughput, unevenly from one
// process to the next. BENCH_ENGINE_PIN=0 leaves them unpinned.
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import pino from "pino";
import { z } from "zod";
import { openNoDependencies } from "../src/engine/execution.ts";
import { Producer } from "../src/engine/producer.ts";
import { defineTask, type ContextOf } from "../src/engine/task.ts";
import { TaskRegistry } from "../src/engine/task-registry.ts";
import { TaskWorker } from "../src/engine/worker.ts";
import { RedisServer } from "../test/support/redis.ts";
import { emitter, median, type CpuPerTask } from "./_support.ts";

const TASKS = Number(process.env.BENCH_ENGINE_TASKS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ENGINE_ROUNDS ?? 5);
const BACKLOG = 50_000;
const PROBES = 200;
const MEASUREMENT_TIMEOUT_MS = 180_000;

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

const emit = emitter("engine");
if (process.env.BENCH_ENGINE_BUILD !== "src") {
  const root = path.resolve(import.meta.dirname, "..");
  const b = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "scripts/build.ts"), root], { stdio: ["ignore", "ignore", "inherit"] });
  if (b.status !== 0) throw new Error(`bench engine: building dist/ failed (exit ${b.status ?? b.signal}); run npm run build to see why`);
}
const server = await RedisServer.start();
const redis = new Redis(server.url, { maxRetriesPerRequest: null });
/** The command prefix that runs a measurement on its own CPU (Redis pinned to CPU 0), or none. */
const pinned = await (async (): Promise<string[]> => {
  if (process.env.BENCH_ENGINE_PIN === "0" || availableParallelism() < 2) return [];
  const pid = /^process_id:(\d+)/m.exec(await redis.info("server"))?.[1];
  const pin = pid ? spawnSync("taskset", ["-cp", "0", pid], { stdio: "ignore" }) : undefined;
  if (pin?.status !== 0) {
    console.error("warning: cannot pin redis-server to a CPU (taskset, from util-linux); the measurements run unpinned");
    return [];
  }
  return ["taskset", "-c", "1"];
})();
emit("pinned", pinned.length > 0 ? 1 : 0, "bool", "reference");
const registry = TaskRegistry.fromClasses({ "bench:Probe": Probe, "bench:Filler": Filler });
const producer = new Producer({ connection: redis, registry, retention: { completedSeconds: 60, failedSeconds: 60 } });
const queue = producer.queue("medium");

const cpuOf = new Map<string, CpuPerTask[]>();

/** Tasks per second of one measurement in its own process (its CPU per task is kept in `cpuOf`). */
function measure(mode: "bullmq" | "noop" | "locked" | "bare" | "traced" | "metrics-ab"): number {
  const script = path.join(import.meta.dirname, "_engine-run.ts");
  const command = [...pinned, process.execPath, "--import", "tsx", script, mode, server.url, String(TASKS)];
  const r = spawnSync(command[0]!, command.slice(1), {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
    timeout: MEASUREMENT_TIMEOUT_MS,
  });
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  if (!line.startsWith("{")) throw new Error(`${mode} measurement failed (exit ${r.status ?? r.signal}); run bench/_engine-run.ts ${mode} by hand to see why`);
  // The rate is printed before the worker stops; a stop that hangs is reported, not hidden.
  if (r.status !== 0) console.error(`warning: the ${mode} measurement did not exit cleanly after reporting (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
  const result = JSON.parse(line) as { rate: number; ratio?: number; spans?: number; attempts?: number; cpu?: CpuPerTask };
  if (result.cpu) cpuOf.set(mode, [...(cpuOf.get(mode) ?? []), result.cpu]);
  if (result.spans !== undefined && result.spans < (result.attempts ?? 0)) console.error(`warning: the traced run exported ${result.spans} spans for ${result.attempts} attempts (spans dropped: its rate flatters tracing)`);
  // metrics-ab reports the in-process ratio of metrics on to metrics off.
  return result.ratio ?? result.rate;
}

try {
  type Mode = "bullmq" | "noop" | "locked" | "bare" | "traced" | "metrics-ab";
  const modes: Mode[] = ["bullmq", "bare", "noop", "traced", "locked", "metrics-ab"];
  const rounds: Record<Mode, number>[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Each round measures every mode once, starting one further along each time, so that no mode
    // always runs first (or right after the same neighbour) on a machine that drifts.
    const r = {} as Record<Mode, number>;
    for (let i = 0; i < modes.length; i++) {
      const mode = modes[(i + round) % modes.length]!;
      r[mode] = measure(mode);
    }
    rounds.push(r);
  }
  const rate = (m: Mode) => median(rounds.map((r) => r[m]));
  // A ratio is the median of its per-round ratios: the two sides of each were measured minutes
  // apart at most, under the same conditions.
  const ratio = (a: Mode, b: Mode) => median(rounds.map((r) => r[a] / r[b]));
  emit("bullmq_noop_rate", rate("bullmq"), "tasks/s", "reference");
  emit("noop_rate", rate("noop"), "tasks/s", "reference");
  emit("noop_throughput_ratio", ratio("noop", "bullmq"), "ratio", ">= 0.85");
  // Observability's cost, against the same engine with metric updates stubbed out (the plain engine).
  emit("bare_engine_rate", rate("bare"), "tasks/s", "reference");
  // Metrics on ÷ off in one process (drains alternating in it), the median over the rounds.
  emit("metrics_tracing_off_ratio", rate("metrics-ab"), "ratio", ">= 0.97");
  emit("noop_to_bare_ratio", ratio("noop", "bare"), "ratio", "reference");
  emit("traced_rate", rate("traced"), "tasks/s", "reference");
  emit("tracing_on_ratio", ratio("traced", "bare"), "ratio", ">= 0.8");
  // The same three beside plain BullMQ: the no-op ratio without metrics, with them (noop_throughput_ratio), and traced.
  emit("bare_throughput_ratio", ratio("bare", "bullmq"), "ratio", "reference");
  emit("traced_throughput_ratio", ratio("traced", "bullmq"), "ratio", "reference");
  emit("locked_rate", rate("locked"), "tasks/s", "reference");
  emit("locked_throughput_ratio", ratio("locked", "bullmq"), "ratio", ">= 0.5");
  // Where the time goes: CPU per task (medians over the rounds) of the worker process and of the
  // Redis server, and the commands Redis ran per task (those inside scripts included). These
  // vary far less between processes than throughput does; both processes run near a full core.
  for (const mode of ["bullmq", "noop", "locked"] as const) {
    const cpu = cpuOf.get(mode) ?? [];
    if (cpu.length === 0) continue;
    emit(`${mode}_worker_cpu_per_task`, median(cpu.map((c) => c.nodeUs)), "µs", "reference");
    emit(`${mode}_redis_cpu_per_task`, median(cpu.map((c) => c.redisUs)), "µs", "reference");
    emit(`${mode}_redis_commands_per_task`, median(cpu.map((c) => c.redisCalls)), "commands", "reference");
    const writes = cpu.flatMap((c) => (c.writes === undefined ? [] : [c.writes]));
    if (writes.length > 0) emit(`${mode}_worker_writes_per_task`, median(writes), "write calls", "reference");
  }

  // Realtime start latency while a large background backlog of the same size waits.
  await redis.flushall();
  for (let i = 0; i < BACKLOG; i += 5_000) {
    await producer.submitBulk(Array.from({ length: 5_000 }, (_, j) => ({ task: "bench:Filler", args: { i: i + j } })));
  }
  const worker = new TaskWorker({ size: "medium", concurrency: 8, connection: server.url, registry, submitter: producer, openUnitOfWork: openNoDependencies, logger: pino({ level: "silent" }) });
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
