import { randomUUID } from "node:crypto";
import type { Job, RepeatStrategy, Worker } from "bullmq";
import type { BrokerConnection } from "../redis-cluster.ts";
import type { Logger } from "pino";
import { logger as rootLogger } from "../logging.ts";
import { brokerErrorReporter, brokerReady, connectBroker } from "./connection.ts";
import type { DeadLetterDrainer } from "./dead-letter.ts";
import { RunningAttempts, ShutdownAbort, runAttempt } from "./execution.ts";
import { tracing, type TracingHooks } from "../observability/tracing.ts";
import { fanoutAttemptHooks } from "./fanout.ts";
import type { TaskJobData } from "./job-data.ts";
import { checkJob, DEFAULT_MAX_PAYLOAD_BYTES, TaskBullWorker } from "./job-validation.ts";
import { keepJobs, retentionOf, type Retention } from "./retention.ts";
import { BULL_PREFIX, lockOwnerId } from "./keys.ts";
import type { LockManager } from "../locks/index.ts";
import { lockWaitMs } from "./metrics.ts";
import { decide, OutcomeStep, type OutcomeHook } from "./outcome.ts";
import type { LimitsResolver, OpenUnitOfWork } from "./ports.ts";
import { queueNameFor, type Size } from "./priorities.ts";
import { DecidedRetries, type RetryOverrideResolver } from "./retry-strategy.ts";
import { TasksSettings } from "../settings.ts";
import { WritePairing } from "./write-pairing.ts";
import type { TaskRegistry } from "./task-registry.ts";
import { bindDefaultProducer, type TaskClass, type TaskSubmitter } from "./task.ts";

export interface WorkerTimings {
  /** TTL of task locks; extended every third of it while the task runs. */
  lockTtlMs: number;
  /** BullMQ job lock: renewed at half of it; a worker silent for longer is presumed dead. */
  jobLockMs: number;
  /** How often a worker looks for jobs whose worker died. */
  stalledIntervalMs: number;
  /**
   * Times a task's worker may die under it (BullMQ's stalled count) before BullMQ fails it for
   * good; the outcome step then dead-letters it. High enough that at-least-once delivery
   * survives a crash-looping deployment; the dead letter is the safety net beyond it.
   */
  maxStalledCount: number;
  /** First lock-contention deferral; doubles per deferral up to maxDeferralMs, jittered. */
  baseDeferralMs: number;
  maxDeferralMs: number;
}

/**
 * The worker timings of the task system's settings, read once at wiring (`createEngine`; a bad
 * DIRACX_TASKS_* value is refused there) and passed down. Without them a worker takes the defaults.
 */
export function workerTimings(s: TasksSettings = TasksSettings.fromEnv({})): WorkerTimings {
  return {
    lockTtlMs: s.lockTtlMs,
    jobLockMs: s.jobLockMs,
    stalledIntervalMs: s.stalledIntervalMs ?? s.jobLockMs,
    maxStalledCount: s.maxStalledCount,
    baseDeferralMs: s.deferralBaseMs,
    maxDeferralMs: s.deferralMaxMs,
  };
}

/** What every log line about one attempt carries (SPEC: id, name, attempt, size, priority, VO). */
function attemptBindings(job: Job<TaskJobData>, cls: TaskClass, attempt: number): Record<string, unknown> {
  const vo = job.data.meta.labels.vo;
  return { taskId: job.id, task: job.name, attempt, priority: cls.priority, ...(vo ? { vo } : {}) };
}

export interface TaskWorkerOptions {
  size: Size;
  concurrency: number;
  connection: string | BrokerConnection;
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
  /**
   * BullMQ's `settings.repeatStrategy`: the worker places a periodic task's next run when it
   * takes the current one, so it must read schedule patterns as the scheduler that wrote them
   * (wired by the caller, so the engine does not depend on the scheduler).
   */
  repeatStrategy?: RepeatStrategy;
  /** Told every attempt's decision (e.g. the scheduler's record of a periodic run's outcome). */
  onOutcome?: OutcomeHook;
  /** How long and how many finished jobs stay in Redis (wiring passes the DIRACX_TASKS_KEEP_* settings; default: their defaults; retention.ts). */
  retention?: Retention;
  /** Bound on a job's JSON-encoded arguments (wiring passes DIRACX_TASKS_MAX_PAYLOAD_BYTES; default 1 MiB); larger jobs are refused. */
  maxPayloadBytes?: number;
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
  /** A release leaves in the same write as the job's next command, its completion (write-pairing.ts). */
  private readonly pairing: WritePairing | undefined;
  private readonly deferRelease = (send: () => Promise<unknown>): void => {
    const release = this.pairing ? this.pairing.holdThrough(send) : send();
    this.releasing.add(release);
    void release.finally(() => this.releasing.delete(release));
  };
  private readonly outcomes: OutcomeStep;
  private readonly maxPayloadBytes: number;
  private readonly connection: BrokerConnection;
  private readonly ownsConnection: boolean;
  private readyFlag = false;
  private started = false;
  private readyListeners: ((ready: boolean) => void)[] = [];

  constructor(opts: TaskWorkerOptions) {
    this.opts = opts;
    this.timings = { ...workerTimings(), ...opts.timings };
    this.log = (opts.logger ?? rootLogger).child({ worker: this.id, size: opts.size });
    this.ownsConnection = typeof opts.connection === "string";
    this.connection = typeof opts.connection === "string" ? connectBroker(opts.connection, `diracx-tasks:worker:${opts.size}`) : opts.connection;
    // Lock commands share BullMQ's connection: a release sent before the job is reported
    // done reaches Redis before it, so nobody sees the job finished with its locks held,
    // and the worker need not wait for the release's reply.
    this.locks = opts.lockManager?.withConnection(this.connection);
    this.pairing = this.locks ? WritePairing.of(this.connection) : undefined;
    const decided = new DecidedRetries();
    this.maxPayloadBytes = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.outcomes = new OutcomeStep({ redis: this.connection, size: opts.size, decided, deadLetters: opts.deadLetters, onOutcome: opts.onOutcome, log: this.log, maxPayloadBytes: this.maxPayloadBytes });
    // TaskBullWorker: a job whose data is not JSON reaches process() (and is refused there).
    this.worker = new TaskBullWorker<TaskJobData>(queueNameFor(opts.size), (job, token) => this.process(job, token), {
      connection: this.connection,
      prefix: BULL_PREFIX,
      concurrency: opts.concurrency,
      lockDuration: this.timings.jobLockMs,
      stalledInterval: this.timings.stalledIntervalMs,
      maxStalledCount: this.timings.maxStalledCount,
      ...keepJobs(opts.retention ?? retentionOf()),
      autorun: false,
      settings: { backoffStrategy: decided.strategy, ...(opts.repeatStrategy ? { repeatStrategy: opts.repeatStrategy } : {}) },
    });
    // BullMQ fails a job itself, without calling the processor, once its workers died more
    // than maxStalledCount times: the outcome step must still be told.
    this.worker.on("failed", (job: Job<TaskJobData> | undefined) => {
      if (!job?.deferredFailure) return;
      const cls = opts.registry.has(job.name) ? opts.registry.get(job.name) : undefined;
      this.outcomes.workerLost(job, cls).catch((err: unknown) => this.log.error({ err, taskId: job.id }, "could not record a task failed after its workers died"));
    });
    this.worker.on("stalled", (jobId: string) => this.log.warn({ taskId: jobId }, "task's worker died (job lock expired); put back in its queue"));
    // Readiness follows the connection (see `ready`); errors are logged once per kind, not per retry.
    this.worker.on("error", brokerErrorReporter(this.log));
    this.connection.on("ready", () => this.setReady(true));
    this.connection.on("close", () => this.setReady(false));
  }

  /** Starts taking work; resolves once the worker is connected. */
  async start(): Promise<void> {
    // `task.schedule()` inside this worker's tasks submits through its producer.
    this.unbindProducer = bindDefaultProducer(this.opts.submitter);
    void this.worker.run().catch((err: unknown) => this.log.error({ err }, "worker loop stopped"));
    await this.worker.waitUntilReady();
    this.started = true;
    this.opts.deadLetters?.start();
    this.setReady(brokerReady(this.connection));
    this.log.info({ concurrency: this.opts.concurrency }, "worker started");
  }

  /** Started, not stopping, and connected to the broker (for /readyz): the real connection state. */
  get ready(): boolean {
    return this.started && !this.closing && brokerReady(this.connection);
  }

  onReadyChange(cb: (ready: boolean) => void): void {
    this.readyListeners.push(cb);
  }

  private setReady(v: boolean): void {
    if (this.closing || !this.started) v = false;
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
    // Never connected (Redis away, wrong password): nothing runs, and BullMQ's close would wait
    // for the connection; dropping it first lets the stop finish at once.
    if (!this.started && this.ownsConnection) this.connection.disconnect();
    const closing = this.worker.close(!this.started);
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

  /** The unit-of-work opener with DB transaction spans, made once per tracing session. */
  private traced: { tracer: TracingHooks; open: OpenUnitOfWork } | undefined;
  private tracedUnitOfWork(tracer: TracingHooks): OpenUnitOfWork {
    if (this.traced?.tracer !== tracer) this.traced = { tracer, open: tracer.traceUnitOfWork(this.opts.openUnitOfWork) };
    return this.traced.open;
  }

  private async process(job: Job<TaskJobData>, token: string | undefined): Promise<unknown> {
    const { registry } = this.opts;
    if (!registry.has(job.name)) return this.outcomes.unknownTask(job);
    const cls = registry.get(job.name);
    // The queue is not trusted: data shape, payload bound and arguments are checked first (job-validation.ts).
    const checked = checkJob(job, cls, this.maxPayloadBytes);
    if (!checked.ok) return this.outcomes.invalidJob(job, cls, checked.error);
    const data = (job.data = checked.data);
    const attempt = job.attemptsMade + 1;
    const taskId = job.id as string;
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
      openUnitOfWork: tracer ? this.tracedUnitOfWork(tracer) : this.opts.openUnitOfWork,
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
    const vo = typeof data.args.vo === "string" ? data.args.vo : undefined;
    const decision = decide(outcome, { taskId: job.name, cls, vo, attempt, deferrals: data.meta.deferrals ?? 0, retryFor: this.opts.retryFor, timings: this.timings });
    if (span) {
      if (decision.kind === "deferral") span.event("task.deferred", { "diracx.blocked_by": decision.blockedBy, "diracx.delay_ms": decision.delayMs, "diracx.deferrals": (data.meta.deferrals ?? 0) + 1 });
      else if ((data.meta.deferrals ?? 0) > 0) span.event("locks.acquired", { "diracx.deferrals": data.meta.deferrals ?? 0, "diracx.lock_wait_ms": lockWaitMs(data.meta, startedAt) ?? 0 });
      const status = ({ success: "completed", deferral: "deferred", retry: "retried", final: "failed", requeue: "requeued" } as const)[decision.kind];
      span.end(status, "error" in decision ? decision.error : undefined);
    }
    return this.outcomes.settle({ job, token, cls, attempt, startedAt, durationMs: outcome.durationMs, log }, decision);
  }
}
