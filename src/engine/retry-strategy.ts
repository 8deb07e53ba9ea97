import type { MinimalJob } from "bullmq";
import { retryDelayFor } from "./retry.ts";
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
export function makeBackoffStrategy(registry: TaskRegistry) {
  return (attemptsMade: number, _type?: string, err?: Error, job?: MinimalJob): number => {
    if (!job || !registry.has(job.name)) return -1;
    const cls = registry.get(job.name);
    const delay = retryDelayFor(cls.retryPolicy, attemptsMade, err);
    return delay === null ? -1 : delay;
  };
}
