import { Counter, Gauge, Histogram, Registry, type Metric } from "prom-client";
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

const counterNames = ["completed", "failed", "retried", "deferred", "requeued", "deadLettered"] as const;
/** A per-task counter of the outcome step. */
export type TaskCounter = (typeof counterNames)[number];

const DURATION_BUCKETS = [0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600, 3600] as const;

/** Durations of one series: counts per bucket (not cumulative), sum and count; cumulative like any histogram. */
class DurationCounts {
  readonly buckets = new Float64Array(DURATION_BUCKETS.length);
  sum = 0;
  count = 0;
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < DURATION_BUCKETS.length; i++) {
      if (seconds <= DURATION_BUCKETS[i]!) {
        this.buckets[i]!++;
        return;
      }
    }
  }
}

/**
 * One task's series (task, size, priority). The outcome step updates its plain fields on the
 * hot path (an increment, no label hashing); prom-client reads them when `/metrics` is
 * scraped: the counters take what was counted since the last scrape, the duration histogram
 * reads the totals. Shared by every worker of the process (`taskSeries`).
 */
export class TaskSeries {
  readonly pending: Record<TaskCounter, number> = { completed: 0, failed: 0, retried: 0, deferred: 0, requeued: 0, deadLettered: 0 };
  durations = { completed: new DurationCounts(), failed: new DurationCounts() };
  constructor(readonly labels: Readonly<TaskMetricLabels>) {}

  count(counter: TaskCounter): void {
    this.pending[counter]++;
  }

  /** An attempt that ran: its duration, by whether it completed or failed. */
  observeDuration(outcome: "completed" | "failed", seconds: number): void {
    this.durations[outcome].observe(seconds);
  }
}

const series = new Map<string, TaskSeries>();

/** The series of one task's labels, made once per process. */
export function taskSeries(labels: TaskMetricLabels): TaskSeries {
  const key = `${labels.task}\0${labels.size}\0${labels.priority}`;
  let s = series.get(key);
  if (!s) series.set(key, (s = new TaskSeries({ task: labels.task, size: labels.size, priority: labels.priority })));
  return s;
}

function taskCounter(counter: TaskCounter, name: string, help: string): Counter {
  return new Counter({
    name,
    help,
    labelNames,
    registers: [metricsRegistry],
    collect() {
      for (const s of series.values()) {
        const n = s.pending[counter];
        if (n === 0) continue;
        s.pending[counter] = 0;
        this.inc(s.labels, n);
      }
    },
  });
}

type MetricValue = { labels: Record<string, string | number>; value: number; metricName: string };

/**
 * The attempt-duration histogram, read from every TaskSeries at scrape time (prom-client's own
 * Histogram hashes the label set on each observation, which showed in the engine benchmark).
 * Registered in the prom-client registry like any metric; the output is a standard histogram.
 */
class TaskDurationHistogram {
  readonly name = "diracx_tasks_duration_seconds";
  readonly help = "Duration of task attempts (execution, commit and lock release)";
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly labelNames = [...labelNames, "outcome"] as const;

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const s of series.values()) {
      for (const outcome of ["completed", "failed"] as const) {
        const d = s.durations[outcome];
        if (d.count === 0) continue;
        const labels = { ...s.labels, outcome };
        let cumulative = 0;
        DURATION_BUCKETS.forEach((le, i) => {
          cumulative += d.buckets[i]!;
          values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
        });
        values.push({ labels: { ...labels, le: "+Inf" }, value: d.count, metricName: `${this.name}_bucket` });
        values.push({ labels, value: d.sum, metricName: `${this.name}_sum` });
        values.push({ labels, value: d.count, metricName: `${this.name}_count` });
      }
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Forgets every observation (the registry's resetMetrics). */
  reset(): void {
    for (const s of series.values()) s.durations = { completed: new DurationCounts(), failed: new DurationCounts() };
  }
}

const duration = new TaskDurationHistogram();
metricsRegistry.registerMetric(duration as unknown as Metric);

export const metrics = {
  completed: taskCounter("completed", "diracx_tasks_completed_total", "Task attempts that succeeded"),
  failed: taskCounter("failed", "diracx_tasks_failed_total", "Tasks that failed for good (no retry left)"),
  retried: taskCounter("retried", "diracx_tasks_retried_total", "Failed attempts that will be retried"),
  deferred: taskCounter("deferred", "diracx_tasks_deferred_total", "Attempts put back because a lock or limiter was busy (not counted as attempts)"),
  requeued: taskCounter("requeued", "diracx_tasks_requeued_total", "Attempts aborted by worker shutdown and put back"),
  deadLettered: taskCounter("deadLettered", "diracx_tasks_dead_lettered_total", "Tasks that failed for good and were kept in the dead-letter queue for resubmission"),
  duration,
  lockWait: new Histogram({
    name: "diracx_tasks_lock_wait_seconds",
    help: "Time a task spent deferred on busy locks or limiters before the attempt that got them",
    labelNames,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600],
    registers: [metricsRegistry],
  }),
};

/** A final failure that went to the dead-letter queue. */
export function recordDeadLettered(s: TaskSeries): void {
  s.count("deadLettered");
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
