import type { RetryOverride } from "../config/tasks-config.ts";

/** Name of the BullMQ custom backoff type every task job carries (short: it is stored in every job's options). */
export const BACKOFF_TYPE = "diracx";

/**
 * Ceiling on BullMQ attempts: the outcome step (outcome.ts) is what actually ends
 * retries (BullMQ stops when the strategy returns -1).
 */
export const MAX_ATTEMPTS = 1_000_000;

/** The `retry` override of the tasks configuration for a task (and VO), read at each failure. */
export type RetryOverrideResolver = (taskId: string, vo: string | undefined) => RetryOverride | undefined;

/**
 * The retry delays the outcome step decided, keyed by the very error object the worker hands
 * to BullMQ (BullMQ passes that object on to the backoff strategy), so BullMQ's backoff reads
 * the decision instead of making its own.
 */
export class DecidedRetries {
  private readonly delays = new WeakMap<Error, number>();

  /** Records the decision for `err`: a delay in ms, or null for "no retry". */
  set(err: Error, delayMs: number | null): void {
    this.delays.set(err, delayMs ?? -1);
  }

  /**
   * BullMQ's `settings.backoffStrategy`. An error no decision was recorded for cannot come
   * from our processor; it is not retried (-1) rather than retried on a guess.
   */
  readonly strategy = (_attemptsMade: number, _type?: string, err?: Error): number => (err ? (this.delays.get(err) ?? -1) : -1);
}
