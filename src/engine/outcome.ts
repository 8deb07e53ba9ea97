/**
 * The outcome step: the one place that decides, once per attempt, what became of it —
 * success, deferral (a lock or limiter was busy), retry after a delay, or final failure —
 * and that tells everyone who needs to know. BullMQ's backoff reads the decided delay
 * (DecidedRetries), so "will this be retried?" is answered once, from the task's policy with
 * the tasks configuration's override (read at each failure, so a hot reload applies between
 * attempts) and StopRetrying. Fan-in advances because BullMQ does what the decision says
 * (a deferred or retried child stays a pending dependency); the attempt history, metrics,
 * log lines, dead letters and the outcome hook (schedule outcomes) all follow the decision.
 *
 * Every final failure passes here, whatever caused it: retries exhausted, a throw before the
 * task body (the task's constructor, `locks()`), an unknown task, or BullMQ's stalled limit
 * (the task's workers kept dying; BullMQ fails the job itself, and the worker's `failed`
 * listener hands it to `workerLost`). The last three used to fail with no log line and no
 * dead letter.
 */
import { DelayedError, UnrecoverableError, WaitingError, type Job } from "bullmq";
import type { BrokerConnection } from "../redis-cluster.ts";
import type { Logger } from "pino";
import { DiracxError } from "../errors.ts";
import { DLQ_ID_LABEL, onCompleted, onFinalFailure, type DeadLetterDrainer } from "./dead-letter.ts";
import type { AttemptOutcome } from "./execution.ts";
import { appendDeferral, appendHistory, errorRecord, type TaskJobData } from "./job-data.ts";
import { readJobData, refuseInvalidJob, type InvalidJobError } from "./job-validation.ts";
import { recordDeadLettered, recordLockWaitOf, taskSeries, type TaskSeries } from "./metrics.ts";
import type { Size } from "./priorities.ts";
import { retryDelayFor, StopRetrying, withRetryOverride } from "./retry.ts";
import type { DecidedRetries, RetryOverrideResolver } from "./retry-strategy.ts";
import { recordTaskOutcome } from "./task-stats.ts";
import type { TaskClass } from "./task.ts";

/** Why a task failed for good (the `reason` of its log line). */
export type FinalReason = "no retry left" | "StopRetrying" | "failed before the task body" | "unknown task" | "invalid job" | "stalled limit";

export type AttemptDecision =
  | { kind: "success"; value: unknown }
  | { kind: "deferral"; delayMs: number; blockedBy: string; retryAfterMs: number }
  | { kind: "retry"; delayMs: number; error: unknown }
  | { kind: "final"; error: unknown; reason: FinalReason; deadLetter: boolean }
  | { kind: "requeue" };

/** Told after every decision (e.g. the scheduler records a periodic run's outcome). Must not throw. */
export type OutcomeHook = (job: Job<TaskJobData>, decision: AttemptDecision) => void;

/** The task's worker died more often than the stalled limit (maxStalledCount) tolerates. */
export class WorkerLostError extends DiracxError {
  override name = "WorkerLostError";
}

export interface DeferralTimings {
  /** First lock-contention deferral; doubles per deferral up to maxDeferralMs, jittered. */
  baseDeferralMs: number;
  maxDeferralMs: number;
}

/**
 * How long a deferred task waits. A rate limiter's `retryAfterMs` is exact (when the oldest
 * permit leaves the window), so the task waits that long plus a little jitter so contenders
 * do not all come back in the same millisecond: never earlier than the window allows. For
 * other locks `retryAfterMs` is when the holders' leases run out at the latest (they may
 * release earlier), so the task backs off (50–100 % of base·2ⁿ, capped) but never waits past
 * that expiry by more than one base delay: a holder that died frees its lock by TTL.
 */
export function deferralDelayMs(
  deferrals: number,
  block: { rateLimited: boolean; retryAfterMs: number },
  t: DeferralTimings,
  random: () => number = Math.random,
): number {
  if (block.rateLimited) return Math.round(block.retryAfterMs + random() * (t.baseDeferralMs / 2));
  const full = Math.min(t.maxDeferralMs, t.baseDeferralMs * 2 ** Math.min(deferrals, 20));
  const backoff = full / 2 + random() * (full / 2);
  return Math.round(Math.min(backoff, block.retryAfterMs + t.baseDeferralMs));
}

/** What the decision needs to know about the task. */
export interface DecisionInput {
  taskId: string;
  cls: TaskClass;
  vo: string | undefined;
  /** The attempt that just ran (1 = first execution). */
  attempt: number;
  /** Deferrals so far (before this one). */
  deferrals: number;
  retryFor: RetryOverrideResolver | undefined;
  timings: DeferralTimings;
}

/** The decision for one attempt's outcome. Pure apart from reading the configuration. */
export function decide(outcome: AttemptOutcome, input: DecisionInput): AttemptDecision {
  switch (outcome.kind) {
    case "completed":
      return { kind: "success", value: outcome.value };
    case "requeue":
      return { kind: "requeue" };
    case "deferred":
      return {
        kind: "deferral",
        delayMs: deferralDelayMs(input.deferrals, outcome, input.timings),
        blockedBy: outcome.blockedBy,
        retryAfterMs: outcome.retryAfterMs,
      };
    case "failed": {
      const { error } = outcome;
      const deadLetter = input.cls.dlqEligible;
      // The task could not even be set up (its constructor or locks() threw): the same code
      // and arguments would throw again, so retrying would only delay the dead letter.
      if (outcome.phase === "prepare") return { kind: "final", error, reason: "failed before the task body", deadLetter };
      if (error instanceof StopRetrying) return { kind: "final", error, reason: "StopRetrying", deadLetter };
      const policy = withRetryOverride(input.cls.retryPolicy, input.retryFor?.(input.taskId, input.vo));
      const delayMs = retryDelayFor(policy, input.attempt, error);
      return delayMs === null ? { kind: "final", error, reason: "no retry left", deadLetter } : { kind: "retry", delayMs, error };
    }
  }
}

export interface OutcomeStepOptions {
  /** BullMQ's connection (dead letters go to the outbox on it, ordered with the job's own updates). */
  redis: BrokerConnection;
  size: Size;
  decided: DecidedRetries;
  deadLetters: DeadLetterDrainer | undefined;
  onOutcome: OutcomeHook | undefined;
  log: Logger;
  /** Bound on arguments a dead letter keeps of an invalid job (job-validation.ts). */
  maxPayloadBytes?: number;
}

/** What the worker knows about the attempt it settles. */
export interface SettleInput {
  job: Job<TaskJobData>;
  token: string | undefined;
  cls: TaskClass;
  attempt: number;
  startedAt: number;
  durationMs: number;
  /** The attempt's logger (made on first use: a pino child costs as much as a line). */
  log: () => Logger;
}

type FinalDecision = Extract<AttemptDecision, { kind: "final" }>;

/**
 * Carries decisions out: records them in the job, counts them, logs them, dead-letters final
 * failures, tells the hook, and hands BullMQ what makes it do the same (a delayed move, or the
 * error with its decided retry delay). One per worker.
 */
export class OutcomeStep {
  private readonly series = new Map<string, TaskSeries>();
  constructor(private readonly opts: OutcomeStepOptions) {}

  /** The metric series of a task name, looked up once per worker (metrics.ts). */
  private seriesOf(name: string, cls: Pick<TaskClass, "size" | "priority"> | undefined): TaskSeries {
    let s = this.series.get(name);
    if (!s) this.series.set(name, (s = taskSeries({ task: name, size: cls?.size ?? this.opts.size, priority: cls?.priority ?? "unknown" })));
    return s;
  }

  /**
   * Applies `decision`; returns the job's result, or throws (rejects with) what BullMQ must see.
   * A plain success stays synchronous: it is the hot path, and an extra await per task shows in
   * the engine benchmark.
   */
  settle(s: SettleInput, decision: AttemptDecision): unknown {
    if (s.job.data.meta.deferrals) this.lockWaited(s, decision); // lock-wait hook (metrics.ts)
    if (decision.kind === "success" && !s.job.data.meta.labels[DLQ_ID_LABEL]) {
      this.succeeded(s, decision);
      return decision.value ?? null;
    }
    return this.settleAsync(s, decision);
  }

  /** A task that was deferred and now got past its locks observes how long it waited for them. */
  private lockWaited(s: SettleInput, decision: AttemptDecision): void {
    if (decision.kind === "deferral" || (decision.kind === "final" && decision.reason === "failed before the task body")) return;
    recordLockWaitOf(this.seriesOf(s.job.name, s.cls).labels, s.job.data.meta, s.startedAt);
  }

  private succeeded(s: SettleInput, decision: Extract<AttemptDecision, { kind: "success" }>): void {
    const series = this.seriesOf(s.job.name, s.cls);
    // No extra write on the hot path: the successful attempt is described by
    // BullMQ's own fields (attemptsMade, processedOn, finishedOn, returnvalue).
    series.count("completed");
    series.observeDuration("completed", s.durationMs / 1000);
    // A line per success is debug: at thousands of tasks a second it would drown the
    // failures, and completions are counted in the metrics and kept in BullMQ anyway.
    if (this.opts.log.isLevelEnabled("debug")) s.log().debug({ durationMs: Math.round(s.durationMs) }, "task completed");
    this.tell(s.job, decision);
  }

  private async settleAsync(s: SettleInput, decision: AttemptDecision): Promise<unknown> {
    const { job, token, attempt, startedAt, durationMs } = s;
    const data = job.data;
    const series = this.seriesOf(job.name, s.cls);
    const seconds = durationMs / 1000;
    switch (decision.kind) {
      case "success": {
        this.succeeded(s, decision);
        await onCompleted(this.opts.redis, job, this.opts.deadLetters); // resolves a resubmitted dead letter
        return decision.value ?? null;
      }
      case "deferral": {
        // Contention is not failure: BullMQ's moveToDelayed does not count an attempt, and a
        // deferred fan-out child stays a pending dependency of its callback.
        const meta = appendDeferral(data.meta, { at: Date.now(), blockedBy: decision.blockedBy, retryAfterMs: decision.retryAfterMs, delayMs: decision.delayMs });
        await job.updateData({ ...data, meta });
        await job.moveToDelayed(Date.now() + decision.delayMs, token);
        series.count("deferred");
        if (this.opts.log.isLevelEnabled("debug")) {
          s.log().debug({ blockedBy: decision.blockedBy, retryAfterMs: decision.retryAfterMs, delayMs: decision.delayMs, deferrals: meta.deferrals }, "lock busy; task deferred");
        }
        this.tell(job, decision);
        throw new DelayedError();
      }
      case "requeue": {
        await job.updateData({ ...data, meta: appendHistory(data.meta, { attempt, startedAt, durationMs, outcome: "requeued" }) });
        await job.moveToWait(token);
        series.count("requeued");
        s.log().warn("task aborted by shutdown; put back in its queue");
        this.tell(job, decision);
        throw new WaitingError();
      }
      case "retry":
      case "final": {
        const { error } = decision;
        await job.updateData({ ...data, meta: appendHistory(data.meta, { attempt, startedAt, durationMs, outcome: "failed", error: errorRecord(error) }) });
        series.observeDuration("failed", seconds);
        if (decision.kind === "retry") {
          series.count("retried");
          s.log().info({ error: errorRecord(error), retryInMs: decision.delayMs }, "task attempt failed; will retry");
        } else {
          await this.failedForGood(job, attempt, decision, series, s.log());
        }
        // The task's own error goes to BullMQ (its failedReason and stack), with the decided delay.
        const thrown = error instanceof Error ? error : new Error(String(error));
        this.opts.decided.set(thrown, decision.kind === "retry" ? decision.delayMs : null);
        this.tell(job, decision);
        throw thrown;
      }
    }
  }

  /**
   * A job naming a task this worker does not know (e.g. submitted by a newer deployment):
   * nothing can run it here, so it fails at once and is dead-lettered for resubmission once
   * the task is deployed.
   */
  async unknownTask(job: Job<TaskJobData>): Promise<never> {
    const attempt = job.attemptsMade + 1;
    const error = new UnrecoverableError(`unknown task '${job.name}' (not in this worker's registry)`);
    const decision: FinalDecision = { kind: "final", error, reason: "unknown task", deadLetter: true };
    const log = this.opts.log.child({ taskId: job.id, task: job.name, attempt });
    await this.recordFailure(job, attempt, error);
    await this.failedForGood(job, attempt, decision, this.seriesOf(job.name, undefined), log);
    this.tell(job, decision);
    throw error;
  }

  /**
   * A job that failed the worker's checks (job-validation.ts: data shape, payload bound, the
   * task's argument schema): no attempt could succeed, so it fails at once, is dead-lettered
   * with the validation error, counted and logged; the body never runs.
   */
  async invalidJob(job: Job<TaskJobData>, cls: TaskClass, error: InvalidJobError): Promise<never> {
    const attempt = job.attemptsMade + 1;
    const decision: FinalDecision = { kind: "final", error, reason: "invalid job", deadLetter: true };
    const log = this.opts.log.child({ taskId: job.id, task: job.name, attempt, priority: cls.priority });
    await this.failedForGood(job, attempt, decision, this.seriesOf(job.name, cls), log);
    await refuseInvalidJob(job, attempt, error);
    this.tell(job, decision);
    throw error;
  }

  /**
   * BullMQ failed `job` itself because its workers died more than maxStalledCount times (the
   * processor never saw it). It is dead-lettered whether or not the task is eligible: it never
   * failed on its own, so only an operator can tell whether to run it again.
   */
  async workerLost(job: Job<TaskJobData>, cls: TaskClass | undefined): Promise<void> {
    const attempt = Math.max(1, job.attemptsMade + job.stalledCounter);
    const error = new WorkerLostError(`${job.deferredFailure ?? "job stalled more than allowable limit"}: the worker running it died ${job.stalledCounter} times`);
    const decision: FinalDecision = { kind: "final", error, reason: "stalled limit", deadLetter: true };
    const log = this.opts.log.child({ taskId: job.id, task: job.name, attempt, ...(cls ? { priority: cls.priority } : {}) });
    await this.recordFailure(job, attempt, error);
    await this.failedForGood(job, attempt, decision, this.seriesOf(job.name, cls), log);
    this.tell(job, decision);
  }

  private async recordFailure(job: Job<TaskJobData>, attempt: number, error: unknown): Promise<void> {
    // Data the worker never read (an unknown task, a job whose workers died) is read here, defaults filled in.
    const raw: unknown = job.data;
    const read = typeof raw === "object" && raw !== null && !Array.isArray(raw) ? readJobData(raw as Record<string, unknown>, job.timestamp) : undefined;
    if (!read?.ok) return; // an invalid job's data is replaced by refuseInvalidJob
    const { data } = read;
    const rec = { attempt, startedAt: job.processedOn ?? Date.now(), durationMs: 0, outcome: "failed" as const, error: errorRecord(error) };
    await job.updateData({ ...data, meta: appendHistory(data.meta, rec) });
  }

  private async failedForGood(job: Job<TaskJobData>, attempt: number, d: FinalDecision, series: TaskSeries, log: Logger): Promise<void> {
    series.count("failed");
    log.warn({ error: errorRecord(d.error), reason: d.reason, deadLetter: d.deadLetter }, "task failed for good");
    if (!d.deadLetter) return;
    try {
      await onFinalFailure(this.opts.redis, job, attempt, d.error, this.opts.deadLetters, this.opts.maxPayloadBytes);
      recordDeadLettered(series);
    } catch (err) {
      // Loud: this final failure is now known only from this line.
      log.error({ err: errorRecord(err) }, "could not dead-letter a task that failed for good");
    }
  }

  private tell(job: Job<TaskJobData>, decision: AttemptDecision): void {
    recordTaskOutcome(this.opts.redis, job, decision); // the dashboard's tasks-by-type statistics
    const hook = this.opts.onOutcome;
    if (!hook) return;
    try {
      hook(job, decision);
    } catch (err) {
      this.opts.log.warn({ err: errorRecord(err) }, "outcome hook threw");
    }
  }
}
