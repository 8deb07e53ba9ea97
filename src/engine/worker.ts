import { randomUUID } from "node:crypto";
import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { logger as rootLogger } from "../logging.ts";
import { bindDefaultProducer } from "./context.ts";
import { connectBroker } from "./connection.ts";
import { DLQ_ID_LABEL, deadLetterStalledFailures, onCompleted, onFinalFailure, type DeadLetterDrainer } from "./dead-letter.ts";
import { RunningAttempts, ShutdownAbort, runAttempt } from "./execution.ts";
import { fanoutAttemptHooks } from "./fanout.ts";
import { appendHistory, errorRecord, type TaskJobData } from "./job-data.ts";
import { BULL_PREFIX, lockOwnerId } from "./keys.ts";
import { metrics, recordDeadLettered, recordLockWait } from "./metrics.ts";
import { tracing } from "../observability/tracing.ts";
import type { LockManager } from "../locks/index.ts";
import type { LimitsResolver, OpenUnitOfWork } from "./ports.ts";
import { queueNameFor, type Size } from "./priorities.ts";
import type { TaskSubmitter } from "./producer-types.ts";
import { makeBackoffStrategy, type RetryOverrideResolver } from "./retry-strategy.ts";
import { diracxRepeatStrategy } from "../scheduler/repeat-strategy.ts";
import { attachScheduleOutcomeRecorder } from "../scheduler/state.ts";
import { retryDelayFor } from "./retry.ts";
import type { TaskRegistry } from "./task-registry.ts";
import type { TaskClass } from "./task.ts";

interface TaskLabels {
  base: { task: string; size: Size; priority: string };
  completed: { task: string; size: Size; priority: string; outcome: string };
  failed: { task: string; size: Size; priority: string; outcome: string };
}

export interface WorkerTimings {
  /** TTL of task locks; extended every third of it while the task runs. */
  lockTtlMs: number;
  /** BullMQ job lock: renewed at half of it; a worker silent for longer is presumed dead. */
  jobLockMs: number;
  /** How often a worker looks for jobs whose worker died. */
  stalledIntervalMs: number;
  /** First lock-contention deferral; doubles per deferral up to maxDeferralMs, jittered. */
  baseDeferralMs: number;
  maxDeferralMs: number;
}

export function timingsFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerTimings {
  const n = (name: string, dflt: number): number => {
    const v = Number(env[name]);
    return env[name] && Number.isFinite(v) && v > 0 ? v : dflt;
  };
  const jobLockMs = n("DIRACX_TASKS_JOB_LOCK_MS", 30_000);
  return {
    lockTtlMs: n("DIRACX_TASKS_LOCK_TTL_MS", 30_000),
    jobLockMs,
    stalledIntervalMs: n("DIRACX_TASKS_STALLED_INTERVAL_MS", jobLockMs),
    baseDeferralMs: n("DIRACX_TASKS_DEFERRAL_BASE_MS", 500),
    maxDeferralMs: n("DIRACX_TASKS_DEFERRAL_MAX_MS", 60_000),
  };
}

/** What every log line about one attempt carries (SPEC: id, name, attempt, size, priority, VO). */
function attemptBindings(job: Job<TaskJobData>, cls: TaskClass, attempt: number): Record<string, unknown> {
  const vo = job.data.meta.labels.vo;
  return { taskId: job.id, task: job.name, attempt, priority: cls.priority, ...(vo ? { vo } : {}) };
}

/** The lock wait ends with an attempt that got its locks; the next run of deferrals starts afresh. */
function withoutDeferral(meta: TaskJobData["meta"]): TaskJobData["meta"] {
  if (meta.deferredSince === undefined) return meta;
  const { deferredSince: _ended, ...rest } = meta;
  return rest;
}

/** Growing, jittered delay (50–100 % of base·2^n) so contending tasks spread out. */
export function deferralDelayMs(deferrals: number, t: Pick<WorkerTimings, "baseDeferralMs" | "maxDeferralMs">): number {
  const full = Math.min(t.maxDeferralMs, t.baseDeferralMs * 2 ** Math.min(deferrals, 20));
  return Math.round(full / 2 + Math.random() * (full / 2));
}

export interface TaskWorkerOptions {
  size: Size;
  concurrency: number;
  connection: string | Redis;
  registry: TaskRegistry;
  /** Producer children are submitted through (bound in every attempt). */
  submitter: TaskSubmitter;
  openUnitOfWork: OpenUnitOfWork;
  lockManager?: LockManager;
  limitsFor?: LimitsResolver;
  /** Retry overrides from the tasks configuration. */
  retryFor?: RetryOverrideResolver;
  timings?: Partial<WorkerTimings>;
  logger?: Logger;
  /** Copies dead letters from the Redis outbox into TaskDB (started and stopped with the worker). */
  deadLetters?: DeadLetterDrainer;
}

/**
 * Runs the tasks of one size. BullMQ gives strict priority, retries (delayed
 * jobs: no scheduler needed), stalled-job recovery and job-lock renewal — a
 * running task is never handed to another worker while this one is alive,
 * and a worker fetches at most `concurrency` jobs (no unbounded prefetch).
 */
export class TaskWorker {
  readonly id = randomUUID();
  readonly worker: Worker<TaskJobData>;
  private readonly opts: TaskWorkerOptions;
  private readonly timings: WorkerTimings;
  private readonly log: Logger;
  private readonly running = new RunningAttempts();
  private closing = false;
  private unbindProducer: () => void = () => {};
  private readonly locks: LockManager | undefined;
  /** Lock releases sent but not yet answered; close() waits for them. */
  private readonly releasing = new Set<Promise<unknown>>();
  private readonly deferRelease = (release: Promise<unknown>): void => {
    this.releasing.add(release);
    void release.finally(() => this.releasing.delete(release));
  };
  private readonly labels = new Map<string, TaskLabels>();
  private readonly connection: Redis;
  private readonly ownsConnection: boolean;
  private readyFlag = false;
  private readyListeners: ((ready: boolean) => void)[] = [];

  constructor(opts: TaskWorkerOptions) {
    this.opts = opts;
    this.timings = { ...timingsFromEnv(), ...opts.timings };
    this.log = (opts.logger ?? rootLogger).child({ worker: this.id, size: opts.size });
    this.ownsConnection = typeof opts.connection === "string";
    this.connection = typeof opts.connection === "string" ? connectBroker(opts.connection, `diracx-tasks:worker:${opts.size}`) : opts.connection;
    // Lock commands share BullMQ's connection: a release sent before the job is reported
    // done reaches Redis before it, so nobody sees the job finished with its locks held,
    // and the worker need not wait for the release's reply.
    this.locks = opts.lockManager?.withConnection(this.connection);
    this.worker = new Worker<TaskJobData>(queueNameFor(opts.size), (job, token) => this.process(job, token), {
      connection: this.connection,
      prefix: BULL_PREFIX,
      concurrency: opts.concurrency,
      lockDuration: this.timings.jobLockMs,
      stalledInterval: this.timings.stalledIntervalMs,
      maxStalledCount: 2,
      autorun: false,
      // The worker schedules a periodic task's next run when it takes the current one, so it
      // must read cron:/rrule: patterns exactly as the scheduler that created them.
      settings: { backoffStrategy: makeBackoffStrategy(opts.registry, opts.retryFor), repeatStrategy: diracxRepeatStrategy },
    });
    attachScheduleOutcomeRecorder(this.worker, this.connection, (err) => this.log.warn({ err: err.message }, "could not record a schedule outcome"));
    // dead-letter hook: tasks BullMQ fails itself after their workers died too often
    deadLetterStalledFailures(this.worker, this.connection, (name) => opts.registry.has(name) && opts.registry.get(name).dlqEligible, opts.deadLetters, this.log);
    this.worker.on("error", (err) => {
      this.setReady(false);
      this.log.warn({ err: err.message }, "broker error; reconnecting");
    });
    this.worker.on("ready", () => this.setReady(true));
    this.connection.on("ready", () => this.setReady(true));
    this.connection.on("close", () => this.setReady(false));
  }

  /** Starts taking work; resolves once the worker is connected. */
  async start(): Promise<void> {
    // `task.schedule()` inside this worker's tasks submits through its producer.
    this.unbindProducer = bindDefaultProducer(this.opts.submitter);
    void this.worker.run().catch((err: unknown) => this.log.error({ err }, "worker loop stopped"));
    await this.worker.waitUntilReady();
    this.opts.deadLetters?.start();
    this.setReady(true);
    this.log.info({ concurrency: this.opts.concurrency }, "worker started");
  }

  /** Connected to the broker and taking work (for /readyz). */
  get ready(): boolean {
    return this.readyFlag;
  }

  onReadyChange(cb: (ready: boolean) => void): void {
    this.readyListeners.push(cb);
  }

  private setReady(v: boolean): void {
    if (this.closing) v = false;
    if (v === this.readyFlag) return;
    this.readyFlag = v;
    for (const cb of this.readyListeners) cb(v);
  }

  /**
   * Graceful stop: take no new work, let running tasks finish for up to
   * `deadlineMs`, then abort the rest and put them back in their queue
   * without counting an attempt.
   */
  async close(deadlineMs = 30_000): Promise<void> {
    this.closing = true;
    this.setReady(false);
    const closing = this.worker.close();
    const timer = setTimeout(() => {
      this.log.warn({ deadlineMs }, "shutdown deadline reached; requeueing running tasks");
      this.running.abortAll(new ShutdownAbort("worker shutting down"));
    }, deadlineMs);
    this.setReady(false);
    try {
      await closing;
    } finally {
      clearTimeout(timer);
      this.running.abortAll(new ShutdownAbort("worker shutting down"));
      this.unbindProducer();
      await Promise.allSettled([...this.releasing]);
      await this.opts.deadLetters?.stop();
      if (this.ownsConnection) this.connection.disconnect();
    }
  }

  /** Metric labels per task name, built once (prom-client hashes them on every update). */
  private labelsOf(name: string, cls: TaskClass): TaskLabels {
    let labels = this.labels.get(name);
    if (!labels) {
      const base = { task: name, size: cls.size, priority: cls.priority };
      labels = { base, completed: { ...base, outcome: "completed" }, failed: { ...base, outcome: "failed" } };
      this.labels.set(name, labels);
    }
    return labels;
  }

  private async process(job: Job<TaskJobData>, token: string | undefined): Promise<unknown> {
    const { registry } = this.opts;
    if (!registry.has(job.name)) {
      // Nothing can run it here; fail it visibly rather than drop it.
      const err = new UnrecoverableError(`unknown task '${job.name}' (not in this worker's registry)`);
      await onFinalFailure(this.connection, job, job.attemptsMade + 1, err, true, this.opts.deadLetters); // dead-letter hook: kept for resubmission once deployed
      throw err;
    }
    const cls = registry.get(job.name);
    const attempt = job.attemptsMade + 1;
    const data = job.data;
    const taskId = job.id as string;
    const labels = this.labelsOf(job.name, cls);
    // Every line about the attempt carries these; the pino child is made only if something is logged.
    let child: Logger | undefined;
    const log = (): Logger => (child ??= this.log.child(attemptBindings(job, cls, attempt)));
    const startedAt = Date.now();
    const hooks = fanoutAttemptHooks(job, this.connection); // fan-out hook: ctx.childOutcomes(), requireAllSuccess
    // tracing hook: undefined (and nothing below is done) unless DIRACX_OTEL_ENABLED loaded the SDK
    const tracer = tracing();
    const span = tracer?.startAttempt({
      taskId,
      taskName: job.name,
      size: cls.size,
      priority: cls.priority,
      attempt,
      vo: data.meta.labels.vo,
      trace: data.meta.trace,
      origin: data.meta.labels.traceparent,
    });
    const attemptInput = {
      id: job.name,
      cls,
      args: data.args,
      taskId,
      attempt,
      logger: log,
      submitter: this.opts.submitter,
      openUnitOfWork: tracer ? tracer.traceUnitOfWork(this.opts.openUnitOfWork) : this.opts.openUnitOfWork,
      lockManager: this.locks,
      lockOwner: lockOwnerId(taskId, token ?? this.id),
      lockTtlMs: this.timings.lockTtlMs,
      skipLimiters: false,
      limitsFor: this.opts.limitsFor,
      running: this.running,
      deferRelease: this.deferRelease,
      beforeExecute: hooks.beforeExecute,
      childOutcomes: hooks.childOutcomes,
    };
    const outcome = span ? await span.run(() => runAttempt(attemptInput)) : await runAttempt(attemptInput);
    const seconds = outcome.durationMs / 1000;
    if (outcome.kind !== "deferred" && data.meta.deferredSince !== undefined) {
      const waited = (Date.now() - data.meta.deferredSince) / 1000;
      recordLockWait(labels.base, waited);
      span?.event("locks.acquired", { "diracx.lock_wait_seconds": waited, "diracx.deferrals": data.meta.deferrals });
    }
    switch (outcome.kind) {
      case "completed": {
        // No extra write on the hot path: the successful attempt is described by
        // BullMQ's own fields (attemptsMade, processedOn, finishedOn, returnvalue).
        metrics.completed.inc(labels.base);
        metrics.duration.observe(labels.completed, seconds);
        span?.end("completed");
        // A line per success is debug: at thousands of tasks a second it would drown the
        // failures, and completions are counted in the metrics and kept in BullMQ anyway.
        if (this.log.isLevelEnabled("debug")) log().debug({ durationMs: Math.round(outcome.durationMs) }, "task completed");
        if (data.meta.labels[DLQ_ID_LABEL]) await onCompleted(this.connection, job, this.opts.deadLetters); // dead-letter hook: resolves a resubmitted entry
        return outcome.value ?? null;
      }
      case "deferred": {
        // Contention is not failure: put the job back with a growing delay;
        // BullMQ's moveToDelayed skips the attempt counter.
        const deferrals = (data.meta.deferrals ?? 0) + 1;
        const delay = deferralDelayMs(deferrals - 1, this.timings);
        await job.updateData({ ...data, meta: { ...data.meta, deferrals, deferredSince: data.meta.deferredSince ?? Date.now() } });
        await job.moveToDelayed(Date.now() + delay, token);
        metrics.deferred.inc(labels.base);
        span?.event("task.deferred", { "diracx.blocked_by": outcome.blockedBy, "diracx.delay_ms": delay, "diracx.deferrals": deferrals });
        span?.end("deferred");
        log().debug({ blockedBy: outcome.blockedBy, delay, deferrals }, "lock busy; task deferred");
        throw new DelayedError();
      }
      case "requeue": {
        await job.updateData({ ...data, meta: appendHistory(withoutDeferral(data.meta), { attempt, startedAt, durationMs: outcome.durationMs, outcome: "requeued" }) });
        await job.moveToWait(token);
        metrics.requeued.inc(labels.base);
        span?.end("requeued");
        log().warn("task aborted by shutdown; put back in its queue");
        throw new WaitingError();
      }
      case "failed": {
        const error = outcome.error;
        await job.updateData({
          ...data,
          meta: appendHistory(withoutDeferral(data.meta), { attempt, startedAt, durationMs: outcome.durationMs, outcome: "failed", error: errorRecord(error) }),
        });
        const willRetry = retryDelayFor(cls.retryPolicy, attempt, error) !== null;
        (willRetry ? metrics.retried : metrics.failed).inc(labels.base);
        metrics.duration.observe(labels.failed, seconds);
        if (!willRetry && cls.dlqEligible) recordDeadLettered(labels.base);
        span?.end(willRetry ? "retried" : "failed", error);
        log()[willRetry ? "info" : "warn"]({ error: errorRecord(error), willRetry }, willRetry ? "task attempt failed; will retry" : "task failed");
        if (!willRetry) await onFinalFailure(this.connection, job, attempt, error, cls.dlqEligible, this.opts.deadLetters); // dead-letter hook
        // Rethrow the task's own error: BullMQ hands it to the backoff strategy.
        throw error instanceof Error ? error : new Error(String(error));
      }
    }
  }
}
