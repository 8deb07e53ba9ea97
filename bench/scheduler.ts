// Scheduler bench: a 1-second cron schedule run for DIRACX_BENCH_SECONDS (default 60) with TWO
// scheduler processes reconciling it, on a private redis-server. Figures: lateness of each run's
// start vs its nominal time (p50/p99, ms) for ours and for plain BullMQ's own cron job scheduler
// measured in the same run (on its own redis-server), and duplicate runs (same nominal time run twice). Each lateness is
// split in two to show where a tail comes from: pickup (nominal → the worker asking Redis for the
// job, BullMQ's processedOn: the delayed job's wake-up) and handoff (→ the processor running).
import { Queue, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import { RedisServer } from "../test/support/redis.ts";
import { emitter } from "./_support.ts";
import { BULL_PREFIX } from "../src/redis-keys.ts";
import { Scheduler } from "../src/scheduler/scheduler.ts";
import { computeDesiredSchedules, type PeriodicTaskInfo } from "../src/scheduler/desired.ts";
import { diracxRepeatStrategy } from "../src/scheduler/repeat-strategy.ts";

const seconds = Number(process.env.DIRACX_BENCH_SECONDS ?? 60);
const server = await RedisServer.start();
// Plain BullMQ on its own redis-server: our schedulers' traffic (the due-job wake-ups) must not
// wake its blocked worker for it.
const peerServer = await RedisServer.start();
const connOf = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null };
};
const conn = connOf(server.url);
const peerConn = connOf(peerServer.url);
// DIRACX_BENCH_WAKE=0 measures ours without the due-job waker (src/scheduler/due-waker.ts).
const wakeDueJobs = process.env.DIRACX_BENCH_WAKE !== "0";

const tasks: PeriodicTaskInfo[] = [{ taskId: "bench:Tick", voAware: false, enabled: true, schedule: { kind: "cron", expression: "* * * * * *" }, priority: "normal", size: "small" }];
const clients = [new Redis(conn), new Redis(conn)];
const schedulers = clients.map((redis) => new Scheduler({ redis, desired: () => computeDesiredSchedules(tasks, { vos: [], tasksConfig: undefined }), brokerCheckIntervalMs: 1000, wakeDueJobs }));

type Fire = { nominal: number; lateness: number; pickup: number };
const ours: Fire[] = [];
const peer: Fire[] = [];
const record = (into: Fire[]) => async (job: Job) => {
  const nominal = Number(String(job.id).split(":").pop());
  into.push({ nominal, lateness: Date.now() - nominal, pickup: (job.processedOn ?? Date.now()) - nominal });
};
const worker = new Worker("tasks-small", record(ours), { connection: conn, prefix: BULL_PREFIX, concurrency: 4, settings: { repeatStrategy: diracxRepeatStrategy } });
const peerQueue = new Queue("peer", { connection: peerConn, prefix: "bench" });
const peerWorker = new Worker("peer", record(peer), { connection: peerConn, prefix: "bench", concurrency: 4 });

await Promise.all(schedulers.map((s) => s.start()));
await peerQueue.upsertJobScheduler("peer-tick", { pattern: "* * * * * *" }, { name: "tick" });
// Both schedulers keep reconciling during the run, as overlapping deployments would.
const churn = setInterval(() => void Promise.all(schedulers.map((s) => s.reconcile())).catch(() => undefined), 5000);
await new Promise((r) => setTimeout(r, seconds * 1000));
clearInterval(churn);

await Promise.all([worker.close(), peerWorker.close()]);
await Promise.all(schedulers.map((s) => s.stop()));
await peerQueue.close();
for (const c of clients) c.disconnect();
await Promise.all([server.stop(), peerServer.stop()]);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
}
const duplicates = ours.length - new Set(ours.map((f) => f.nominal)).size;
const out = emitter("scheduler", 2);
const late = (fires: Fire[], p: number): number => pct(fires.map((f) => f.lateness), p);
const pickup = (fires: Fire[], p: number): number => pct(fires.map((f) => f.pickup), p);
const peerP99 = late(peer, 99);
out("lateness_p50", late(ours, 50), "ms", "reference");
out("lateness_p99", late(ours, 99), "ms", `<= 100 and <= bullmq_lateness_p99 + 10 (${Math.round(peerP99 + 10)})`);
out("bullmq_lateness_p50", late(peer, 50), "ms", "reference");
out("bullmq_lateness_p99", peerP99, "ms", "reference");
out("lateness_p99_minus_bullmq", late(ours, 99) - peerP99, "ms", "<= 10");
out("pickup_p99", pickup(ours, 99), "ms", "reference (nominal → worker wakes for the job)");
out("bullmq_pickup_p99", pickup(peer, 99), "ms", "reference");
out("duplicates", duplicates, "runs", "0");
out("fires", ours.length, "runs", `~${seconds}`);
