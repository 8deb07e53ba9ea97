import type { RetryOverride } from "../config/tasks-config.ts";
import { DiracxError } from "../errors.ts";

/**
 * Decides whether and when a failed attempt is retried. `attempt` is the number
 * of the attempt that just failed (1 = the first execution) and `error` is the
 * very object the task threw, so a policy can branch on its class (upstream
 * handed policies a synthetic Exception and could not).
 */
export interface RetryPolicy {
  /** Delay before the next attempt in ms, or null to give up. */
  nextDelayMs(attempt: number, error: unknown): number | null;
  /** Short human description, shown by `diracx-tasks tasks`. */
  describe(): string;
}

/** Thrown by a task (or a subclass of it) to fail at once, whatever the retry policy says. */
export class StopRetrying extends DiracxError {}

/** The attempt ran past its timeout; counts as a failed attempt and is retried per policy. */
export class TaskTimeoutError extends DiracxError {}

export class NoRetry implements RetryPolicy {
  nextDelayMs(): null {
    return null;
  }
  describe(): string {
    return "no retry";
  }
}

export interface ExponentialBackoffOptions {
  baseDelaySeconds?: number;
  maxRetries?: number;
}

/**
 * `maxRetries: N` means exactly N retries after the first failure (N+1
 * executions); the first retry waits `baseDelaySeconds`, then 2×, 4×, …
 * (upstream's off-by-one gave N-1 retries starting at 2× base).
 */
export class ExponentialBackoff implements RetryPolicy {
  readonly baseDelaySeconds: number;
  readonly maxRetries: number;

  constructor(opts: ExponentialBackoffOptions = {}) {
    this.baseDelaySeconds = opts.baseDelaySeconds ?? 10;
    this.maxRetries = opts.maxRetries ?? 5;
    if (!(this.baseDelaySeconds >= 0)) throw new DiracxError(`ExponentialBackoff: baseDelaySeconds must be >= 0, got ${opts.baseDelaySeconds}`);
    if (!Number.isInteger(this.maxRetries) || this.maxRetries < 0) {
      throw new DiracxError(`ExponentialBackoff: maxRetries must be a non-negative integer, got ${opts.maxRetries}`);
    }
  }

  nextDelayMs(attempt: number): number | null {
    if (attempt > this.maxRetries) return null;
    return Math.round(this.baseDelaySeconds * 1000 * 2 ** (attempt - 1));
  }

  describe(): string {
    return `exponential backoff (base ${this.baseDelaySeconds}s, ${this.maxRetries} retries)`;
  }
}

/** Applies a policy to a failure; StopRetrying always ends the task. */
export function retryDelayFor(policy: RetryPolicy, attempt: number, error: unknown): number | null {
  if (error instanceof StopRetrying) return null;
  const delay = policy.nextDelayMs(attempt, error);
  if (delay === null || delay === undefined || !Number.isFinite(delay)) return null;
  return Math.max(0, Math.round(delay));
}

/**
 * A configured `retry` override turns the task's policy into an exponential backoff with the
 * configured values; a value the configuration leaves out comes from the task's own
 * ExponentialBackoff (or 10 s base / no retries for any other policy).
 */
export function withRetryOverride(policy: RetryPolicy, override: RetryOverride | undefined): RetryPolicy {
  if (!override || (override.maxRetries === undefined && override.baseDelaySeconds === undefined)) return policy;
  const own = policy instanceof ExponentialBackoff ? policy : undefined;
  return new ExponentialBackoff({
    baseDelaySeconds: override.baseDelaySeconds ?? own?.baseDelaySeconds ?? 10,
    maxRetries: override.maxRetries ?? own?.maxRetries ?? 0,
  });
}
