// Per-task outcome counts and attempt durations over time, for the dashboard's tasks-by-type
// view (completed / failed / retried / deferred over 1 h and 24 h, p50 / p95 duration, last
// failure). The outcome step tells `recordTaskOutcome` every decision; counts are kept in memory
// and written to small time-bucketed Redis hashes at most once a second per connection (the first
// outcome after a quiet second is written at once), so the hot path costs a Map update, not a
// round trip. Buckets: 5 minutes (kept 70 min, for the last hour) and 1 hour (kept 25 h, for the
// last day) per task; 1 minute (kept 65 min) for the totals of the overview's throughput chart,
// which so does not depend on how long BullMQ keeps finished jobs. Durations are log-scale histograms (each bucket 20 % wider than the last), so
// percentiles are upper bounds within 20 %. Prometheus (src/engine/metrics.ts) keeps the
// per-process counters; this is the cluster-wide recent view one page can read in a few commands.
import type { Job } from "bullmq";
import type { BrokerConnection } from "../redis-cluster.ts";
import { logger } from "../logging.ts";
import { TASK_LAST_FAILURE_KEY, taskStatsKey } from "../redis-keys.ts";
import { errorRecord } from "./job-data.ts";

export const STAT_OUTCOMES = ["completed", "failed", "retried", "deferred"] as const;
export type StatOutcome = (typeof STAT_OUTCOMES)[number];

const GRANULARITIES = { "5m": { ms: 5 * 60_000, keepMs: 70 * 60_000 }, "1h": { ms: 3_600_000, keepMs: 25 * 3_600_000 } } as const;
type Granularity = keyof typeof GRANULARITIES;
const MINUTE = { ms: 60_000, keepMs: 65 * 60_000 } as const;
const FLUSH_INTERVAL_MS = 1000;
const GROWTH = 1.2;
const LOG_GROWTH = Math.log(GROWTH);
const MAX_BUCKET = 140; // 1.2^140 ms ≈ 4 years

/** Histogram bucket of a duration: bucket i holds durations in (1.2^(i-1), 1.2^i] ms. */
export function durationBucket(ms: number): number {
  if (ms <= 1) return 0;
  return Math.min(MAX_BUCKET, Math.ceil(Math.log(ms) / LOG_GROWTH - 1e-9));
}

export function bucketUpperMs(i: number): number {
  return GROWTH ** i;
}

/** The decisions of the outcome step this module counts (structurally; the engine's AttemptDecision fits). */
export type CountedDecision =
  | { kind: "success" }
  | { kind: "deferral" }
  | { kind: "retry"; error: unknown }
  | { kind: "final"; error: unknown; reason: string }
  | { kind: "requeue" };

/** One task's outcomes since the last write: four counters and a duration histogram (bucket -> count). */
interface Tally {
  counts: Record<StatOutcome, number>;
  durations: Map<number, number>;
}

interface Pending {
  tallies: Map<string, Tally>;
  lastFailure: Map<string, string>;
}

function emptyPending(): Pending {
  return { tallies: new Map(), lastFailure: new Map() };
}

class Recorder {
  private pending: Pending = emptyPending();
  private timer: NodeJS.Timeout | undefined;
  private warned = false;

  constructor(private readonly redis: BrokerConnection) {}

  /** The hot path (once per outcome): a Map lookup and two increments, no string built. */
  record(task: string, outcome: StatOutcome, durationMs: number | undefined, failure?: string): void {
    let tally = this.pending.tallies.get(task);
    if (!tally) this.pending.tallies.set(task, (tally = { counts: { completed: 0, failed: 0, retried: 0, deferred: 0 }, durations: new Map() }));
    tally.counts[outcome]++;
    if (durationMs !== undefined) {
      const b = durationBucket(durationMs);
      tally.durations.set(b, (tally.durations.get(b) ?? 0) + 1);
    }
    if (failure) this.pending.lastFailure.set(task, failure);
    if (!this.timer) {
      // Leading edge: an outcome after a quiet second is written now; later ones wait for the tick.
      void this.flush();
      this.timer = setTimeout(() => this.tick(), FLUSH_INTERVAL_MS);
      this.timer.unref();
    }
  }

  private tick(): void {
    this.timer = undefined;
    if (this.pending.tallies.size === 0 && this.pending.lastFailure.size === 0) return;
    void this.flush();
    this.timer = setTimeout(() => this.tick(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  private async flush(): Promise<void> {
    const { tallies, lastFailure } = this.pending;
    if (tallies.size === 0 && lastFailure.size === 0) return;
    this.pending = emptyPending();
    if (this.redis.status === "end") return; // the worker closed its connection: nothing to write to
    // Hash fields: `<task>\t<outcome>` and `<task>\td\t<bucket>` (what summarise() reads).
    const fields: [string, number][] = [];
    const totals = { completed: 0, failed: 0 };
    for (const [task, { counts, durations }] of tallies) {
      for (const outcome of STAT_OUTCOMES) if (counts[outcome]) fields.push([`${task}\t${outcome}`, counts[outcome]]);
      for (const [b, n] of durations) fields.push([`${task}\td\t${b}`, n]);
      totals.completed += counts.completed;
      totals.failed += counts.failed;
    }
    const now = Date.now();
    const pipe = this.redis.pipeline();
    for (const g of Object.keys(GRANULARITIES) as Granularity[]) {
      const { ms, keepMs } = GRANULARITIES[g];
      const key = taskStatsKey(g, Math.floor(now / ms) * ms);
      for (const [field, n] of fields) pipe.hincrby(key, field, n);
      pipe.pexpire(key, keepMs + ms);
    }
    // Totals per minute, every task together: the throughput chart.
    const minuteKey = taskStatsKey("1m", Math.floor(now / MINUTE.ms) * MINUTE.ms);
    for (const outcome of ["completed", "failed"] as const) if (totals[outcome]) pipe.hincrby(minuteKey, outcome, totals[outcome]);
    pipe.pexpire(minuteKey, MINUTE.keepMs + MINUTE.ms);
    if (lastFailure.size) pipe.hset(TASK_LAST_FAILURE_KEY, Object.fromEntries(lastFailure));
    try {
      const res = (await pipe.exec()) ?? [];
      const err = res.find(([e]) => e)?.[0];
      if (err) throw err;
    } catch (err) {
      // Statistics only (the tasks and their outcomes are unaffected): one line, then quiet.
      if (!this.warned) logger.warn({ err: (err as Error).message }, "could not write task statistics; the dashboard's tasks view will undercount");
      this.warned = true;
    }
  }
}

const recorders = new WeakMap<BrokerConnection, Recorder>();

/** Counts one decision of the outcome step for the tasks-by-type view; never throws, no round trip now. */
export function recordTaskOutcome(redis: BrokerConnection, job: Pick<Job, "name" | "id" | "processedOn"> & { data?: { meta?: { labels?: { vo?: unknown } } } }, decision: CountedDecision): void {
  let r = recorders.get(redis);
  if (!r) recorders.set(redis, (r = new Recorder(redis)));
  // processedOn: when this attempt started (BullMQ's moveToActive), so this is the attempt's duration.
  const ran = job.processedOn ? Date.now() - job.processedOn : undefined;
  switch (decision.kind) {
    case "success":
      return r.record(job.name, "completed", ran);
    case "deferral":
      return r.record(job.name, "deferred", undefined);
    case "retry":
      return r.record(job.name, "retried", ran);
    case "final": {
      const e = errorRecord(decision.error);
      // Failures that never ran the task body here (unknown task, a dead worker) have no duration of their own.
      const timed = decision.reason === "no retry left" || decision.reason === "StopRetrying";
      const vo = job.data?.meta?.labels?.vo;
      const failure = { at: Date.now(), taskId: job.id, type: e.type, message: e.message, reason: decision.reason, ...(typeof vo === "string" ? { vo } : {}) };
      return r.record(job.name, "failed", timed ? ran : undefined, JSON.stringify(failure));
    }
    case "requeue":
      return;
  }
}

export interface TaskWindowStats {
  completed: number;
  failed: number;
  retried: number;
  deferred: number;
  /** Attempt durations (completed and failed attempts), upper bounds in ms; undefined without any. */
  p50Ms?: number;
  p95Ms?: number;
}

export interface TaskStats {
  hour: TaskWindowStats;
  day: TaskWindowStats;
  /** `vo`: the failed task's VO label, so a page shows it only to those who may see that VO. */
  lastFailure?: { at: number; taskId?: string; type: string; message: string; reason: string; vo?: string };
}

function bucketStarts(g: Granularity, windowMs: number, now: number): number[] {
  const { ms } = GRANULARITIES[g];
  const out: number[] = [];
  for (let t = Math.floor((now - windowMs) / ms) * ms + ms; t <= now; t += ms) out.push(t);
  return out;
}

function percentile(hist: Map<number, number>, total: number, q: number): number | undefined {
  if (total === 0) return undefined;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const i of [...hist.keys()].sort((a, b) => a - b)) {
    seen += hist.get(i)!;
    if (seen >= rank) return bucketUpperMs(i);
  }
  return undefined;
}

function summarise(hashes: Record<string, string>[]): Map<string, TaskWindowStats> {
  const counts = new Map<string, Record<StatOutcome, number>>();
  const hists = new Map<string, Map<number, number>>();
  for (const h of hashes) {
    for (const [field, v] of Object.entries(h)) {
      const [task, what, i] = field.split("\t") as [string, string, string | undefined];
      const n = Number(v);
      if (what === "d") {
        let hist = hists.get(task);
        if (!hist) hists.set(task, (hist = new Map()));
        hist.set(Number(i), (hist.get(Number(i)) ?? 0) + n);
      } else if ((STAT_OUTCOMES as readonly string[]).includes(what)) {
        let c = counts.get(task);
        if (!c) counts.set(task, (c = { completed: 0, failed: 0, retried: 0, deferred: 0 }));
        c[what as StatOutcome] += n;
      }
    }
  }
  const out = new Map<string, TaskWindowStats>();
  for (const task of new Set([...counts.keys(), ...hists.keys()])) {
    const hist = hists.get(task) ?? new Map<number, number>();
    const total = [...hist.values()].reduce((a, b) => a + b, 0);
    const p50Ms = percentile(hist, total, 0.5);
    const p95Ms = percentile(hist, total, 0.95);
    out.set(task, { ...(counts.get(task) ?? { completed: 0, failed: 0, retried: 0, deferred: 0 }), ...(p50Ms !== undefined ? { p50Ms } : {}), ...(p95Ms !== undefined ? { p95Ms } : {}) });
  }
  return out;
}

const EMPTY: TaskWindowStats = { completed: 0, failed: 0, retried: 0, deferred: 0 };

/**
 * Every task's statistics over the last hour and day, read in one pipeline (13 + 25 bucket
 * hashes and the last failures). Buckets are whole, so a window reaches back up to one bucket
 * further than its name (the last hour: 60–65 minutes).
 */
export async function readTaskStats(redis: BrokerConnection, now = Date.now()): Promise<Map<string, TaskStats>> {
  const hourKeys = bucketStarts("5m", 3_600_000, now).map((t) => taskStatsKey("5m", t));
  const dayKeys = bucketStarts("1h", 24 * 3_600_000, now).map((t) => taskStatsKey("1h", t));
  const pipe = redis.pipeline();
  for (const k of [...hourKeys, ...dayKeys]) pipe.hgetall(k);
  pipe.hgetall(TASK_LAST_FAILURE_KEY);
  const res = ((await pipe.exec()) ?? []).map(([err, v]) => {
    if (err) throw err;
    return (v ?? {}) as Record<string, string>;
  });
  const hour = summarise(res.slice(0, hourKeys.length));
  const day = summarise(res.slice(hourKeys.length, hourKeys.length + dayKeys.length));
  const failures = res[res.length - 1]!;
  const out = new Map<string, TaskStats>();
  for (const task of new Set([...hour.keys(), ...day.keys(), ...Object.keys(failures)])) {
    const raw = failures[task];
    let lastFailure: TaskStats["lastFailure"];
    try {
      lastFailure = raw ? (JSON.parse(raw) as TaskStats["lastFailure"]) : undefined;
    } catch {
      lastFailure = undefined;
    }
    out.set(task, { hour: hour.get(task) ?? EMPTY, day: day.get(task) ?? EMPTY, ...(lastFailure ? { lastFailure } : {}) });
  }
  return out;
}

/** Tasks completed and failed for good per minute over the last `minutes` minutes, every task together, oldest minute first. */
export async function readThroughput(redis: BrokerConnection, minutes: number, now = Date.now()): Promise<{ completed: number[]; failed: number[] }> {
  const current = Math.floor(now / MINUTE.ms) * MINUTE.ms;
  const pipe = redis.pipeline();
  for (let m = minutes - 1; m >= 0; m--) pipe.hmget(taskStatsKey("1m", current - m * MINUTE.ms), "completed", "failed");
  const res = (await pipe.exec()) ?? [];
  const completed: number[] = [];
  const failed: number[] = [];
  for (const [err, v] of res) {
    if (err) throw err;
    const [c, f] = (v ?? [null, null]) as (string | null)[];
    completed.push(Number(c ?? 0));
    failed.push(Number(f ?? 0));
  }
  return { completed, failed };
}
