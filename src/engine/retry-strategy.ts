import type { MinimalJob } from "bullmq";
import type { RetryOverride } from "../config/tasks-config.ts";
import { ExponentialBackoff, retryDelayFor, type RetryPolicy } from "./retry.ts";
import type { TaskRegistry } from "./task-registry.ts";

/** Name of the BullMQ custom backoff type every task job carries. */
export const BACKOFF_TYPE = "diracx-policy";

/**
 * Ceiling on BullMQ attempts: the task's retry policy is what actually ends
 * retries (BullMQ stops when the strategy returns -1).
 */
export const MAX_ATTEMPTS = 1_000_000;

/**
 * BullMQ calls this with `attemptsMade` = number of failed attempts including
 * the one that just failed, and the error the processor threw (the task's own
 * error object, so policies can branch on its class). -1 = no more retries.
 */
export function makeBackoffStrategy(registry: TaskRegistry, retryFor?: RetryOverrideResolver) {
  return (attemptsMade: number, _type?: string, err?: Error, job?: MinimalJob): number => {
    if (!job || !registry.has(job.name)) return -1;
    const cls = registry.get(job.name);
    const args = (job.data as { args?: { vo?: unknown } } | undefined)?.args;
    const vo = typeof args?.vo === "string" ? args.vo : undefined;
    const policy = withRetryOverride(cls.retryPolicy, retryFor?.(job.name, vo));
    const delay = retryDelayFor(policy, attemptsMade, err);
    return delay === null ? -1 : delay;
  };
}

/** The `retry` override of the tasks configuration for a task (and VO), read at each failure. */
export type RetryOverrideResolver = (taskId: string, vo: string | undefined) => RetryOverride | undefined;

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
