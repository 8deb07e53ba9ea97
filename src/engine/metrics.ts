import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { TaskJobMeta } from "./job-data.ts";

/** Prometheus registry of the engine's metrics, served at `/metrics` by the health listener. */
export const metricsRegistry = new Registry();

const labelNames = ["task", "size", "priority"] as const;

/** The labels every per-task series carries; build them once per task (prom-client hashes them on every update). */
export interface TaskMetricLabels {
  task: string;
  size: string;
  priority: string;
}

export const metrics = {
  completed: new Counter({ name: "diracx_tasks_completed_total", help: "Task attempts that succeeded", labelNames, registers: [metricsRegistry] }),
  failed: new Counter({ name: "diracx_tasks_failed_total", help: "Tasks that failed for good (no retry left)", labelNames, registers: [metricsRegistry] }),
  retried: new Counter({ name: "diracx_tasks_retried_total", help: "Failed attempts that will be retried", labelNames, registers: [metricsRegistry] }),
  deferred: new Counter({
    name: "diracx_tasks_deferred_total",
    help: "Attempts put back because a lock or limiter was busy (not counted as attempts)",
    labelNames,
    registers: [metricsRegistry],
  }),
  requeued: new Counter({ name: "diracx_tasks_requeued_total", help: "Attempts aborted by worker shutdown and put back", labelNames, registers: [metricsRegistry] }),
  deadLettered: new Counter({
    name: "diracx_tasks_dead_lettered_total",
    help: "Tasks that failed for good and were kept in the dead-letter queue for resubmission",
    labelNames,
    registers: [metricsRegistry],
  }),
  duration: new Histogram({
    name: "diracx_tasks_duration_seconds",
    help: "Duration of task attempts (execution, commit and lock release)",
    labelNames: [...labelNames, "outcome"],
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600, 3600],
    registers: [metricsRegistry],
  }),
  lockWait: new Histogram({
    name: "diracx_tasks_lock_wait_seconds",
    help: "Time a task spent deferred on busy locks or limiters before the attempt that got them",
    labelNames,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600],
    registers: [metricsRegistry],
  }),
};

/** What became of one attempt, as the counters tell it. */
export type AttemptOutcomeKind = "completed" | "retried" | "failed" | "deferred" | "requeued";

const outcomeLabels = new WeakMap<TaskMetricLabels, Record<"completed" | "failed", TaskMetricLabels & { outcome: string }>>();

/**
 * Counts one attempt's outcome for a task and, for attempts that ran (completed, retried,
 * failed), observes its duration. The one call the worker's decision point makes.
 */
export function recordAttemptOutcome(labels: TaskMetricLabels, outcome: AttemptOutcomeKind, durationSeconds?: number): void {
  metrics[outcome].inc(labels);
  if (durationSeconds === undefined || outcome === "deferred" || outcome === "requeued") return;
  let byOutcome = outcomeLabels.get(labels);
  if (!byOutcome) {
    byOutcome = { completed: { ...labels, outcome: "completed" }, failed: { ...labels, outcome: "failed" } };
    outcomeLabels.set(labels, byOutcome);
  }
  metrics.duration.observe(outcome === "completed" ? byOutcome.completed : byOutcome.failed, durationSeconds);
}

/** A final failure that went to the dead-letter queue. */
export function recordDeadLettered(labels: TaskMetricLabels): void {
  metrics.deadLettered.inc(labels);
}

/** Seconds a task waited for its locks (first deferral to the attempt that held them). */
export function recordLockWait(labels: TaskMetricLabels, seconds: number): void {
  metrics.lockWait.observe(labels, seconds);
}

/**
 * How long the attempt starting at `attemptStartedAt` waited for its locks, in ms, read from the
 * task's own record: from the first deferral of the current run of deferrals (those after the
 * last attempt that ran, as `meta.history` records it) to this attempt. Undefined when this
 * attempt was not preceded by a deferral. Bounded like `deferralLog` (the oldest kept counts).
 */
export function lockWaitMs(meta: Pick<TaskJobMeta, "deferrals" | "deferralLog" | "history">, attemptStartedAt: number): number | undefined {
  if (!meta.deferrals || !meta.deferralLog?.length) return undefined;
  const lastRan = meta.history.at(-1)?.startedAt ?? -Infinity;
  const first = meta.deferralLog.find((d) => d.at > lastRan);
  return first ? Math.max(0, attemptStartedAt - first.at) : undefined;
}

/**
 * The outcome step's one call for the lock-wait histogram: an attempt that got past its locks
 * (anything but a deferral or a failure before the locks were asked for) after deferrals.
 */
export function recordLockWaitOf(labels: TaskMetricLabels, meta: TaskJobMeta, attemptStartedAt: number): void {
  const ms = lockWaitMs(meta, attemptStartedAt);
  if (ms !== undefined) metrics.lockWait.observe(labels, ms / 1000);
}

/** What the queue-level gauges are read from at scrape time (the scheduler supplies it). */
export interface QueueGaugeSource {
  /** Queue depth per size × priority and state, oldest waiting ages, workers per size. */
  queues(): Promise<
    readonly {
      size: string;
      waiting: Readonly<Record<string, number>>;
      oldestWaitingSeconds: Readonly<Record<string, number | null>>;
      delayed: number;
      running: number;
      failed: number;
      completed: number;
      workers: number;
    }[]
  >;
  /** Dead letters per status (TaskDB), when TaskDB is configured. */
  deadLetters?(): Promise<Readonly<Record<string, number>>>;
  /** Dead letters not yet copied from the Redis outbox into TaskDB. */
  deadLetterOutbox(): Promise<number>;
  schedules(): Promise<readonly { id: string; task: string; lastRunAt?: number; lastOutcome?: "completed" | "failed" }[]>;
  /** Locks and limiters with at least one holder. */
  locksHeld(): Promise<readonly { family: string; objectType: string }[]>;
}

type Snapshot = {
  queues: Awaited<ReturnType<QueueGaugeSource["queues"]>>;
  deadLetters: Readonly<Record<string, number>> | undefined;
  outbox: number;
  schedules: Awaited<ReturnType<QueueGaugeSource["schedules"]>>;
  locks: Awaited<ReturnType<QueueGaugeSource["locksHeld"]>>;
};

/**
 * Registers the queue-level gauges, computed at scrape time from `source`. Exactly one
 * component registers them (the scheduler), so the series are not duplicated by every
 * worker. Returns a function that unregisters them.
 */
export function registerQueueGauges(source: QueueGaugeSource, registry: Registry = metricsRegistry): () => void {
  // One reading per scrape, shared by every gauge's collect.
  let pending: Promise<Snapshot> | undefined;
  const read = (): Promise<Snapshot> => {
    pending ??= (async () => {
      const [queues, deadLetters, outbox, schedules, locks] = await Promise.all([
        source.queues(),
        source.deadLetters?.(),
        source.deadLetterOutbox(),
        source.schedules(),
        source.locksHeld(),
      ]);
      return { queues, deadLetters, outbox, schedules, locks };
    })().finally(() => setTimeout(() => (pending = undefined), 0));
    return pending;
  };
  const gauges: Gauge[] = [
    new Gauge({
      name: "diracx_tasks_queue_depth",
      help: "Tasks in each queue by state; waiting tasks are split by priority, the other states carry priority=\"any\"",
      labelNames: ["size", "priority", "state"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const q of (await read()).queues) {
          for (const [priority, n] of Object.entries(q.waiting)) this.set({ size: q.size, priority, state: "waiting" }, n);
          for (const state of ["delayed", "running", "failed", "completed"] as const) this.set({ size: q.size, priority: "any", state }, q[state]);
        }
      },
    }),
    new Gauge({
      name: "diracx_tasks_oldest_waiting_seconds",
      help: "Age of the oldest task waiting per size and priority (0 when none waits)",
      labelNames: ["size", "priority"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const q of (await read()).queues) {
          for (const [priority, age] of Object.entries(q.oldestWaitingSeconds)) this.set({ size: q.size, priority }, age ?? 0);
        }
      },
    }),
    new Gauge({
      name: "diracx_tasks_workers",
      help: "Workers connected per size",
      labelNames: ["size"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const q of (await read()).queues) this.set({ size: q.size }, q.workers);
      },
    }),
    new Gauge({
      name: "diracx_tasks_dead_letters",
      help: "Dead letters in TaskDB by status (absent when TaskDB is not configured)",
      labelNames: ["status"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const [status, n] of Object.entries((await read()).deadLetters ?? {})) this.set({ status }, n);
      },
    }),
    new Gauge({
      name: "diracx_tasks_dead_letter_outbox",
      help: "Dead letters waiting in Redis to be written to TaskDB",
      registers: [registry],
      async collect() {
        this.set((await read()).outbox);
      },
    }),
    new Gauge({
      name: "diracx_tasks_schedule_last_run_timestamp_seconds",
      help: "When each periodic schedule last started a run (Unix time)",
      labelNames: ["schedule", "task"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const s of (await read()).schedules) if (s.lastRunAt !== undefined) this.set({ schedule: s.id, task: s.task }, s.lastRunAt / 1000);
      },
    }),
    new Gauge({
      name: "diracx_tasks_schedule_last_outcome",
      help: "1 for the outcome of each schedule's last finished run, 0 for the other",
      labelNames: ["schedule", "task", "outcome"],
      registers: [registry],
      async collect() {
        this.reset();
        for (const s of (await read()).schedules) {
          if (!s.lastOutcome) continue;
          for (const outcome of ["completed", "failed"] as const) this.set({ schedule: s.id, task: s.task, outcome }, s.lastOutcome === outcome ? 1 : 0);
        }
      },
    }),
    new Gauge({
      name: "diracx_tasks_locks_held",
      help: "Locks and limiters with at least one holder, by family and object type",
      labelNames: ["family", "object_type"],
      registers: [registry],
      async collect() {
        this.reset();
        const counts = new Map<string, { family: string; object_type: string; n: number }>();
        for (const l of (await read()).locks) {
          const key = `${l.family}\0${l.objectType}`;
          const c = counts.get(key) ?? { family: l.family, object_type: l.objectType, n: 0 };
          c.n++;
          counts.set(key, c);
        }
        for (const c of counts.values()) this.set({ family: c.family, object_type: c.object_type }, c.n);
      },
    }),
  ];
  return () => {
    for (const g of gauges) registry.removeSingleMetric((g as unknown as { name: string }).name);
  };
}
