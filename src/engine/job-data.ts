import type { TraceCarrier } from "../observability/tracing.ts";

/**
 * What the engine keeps in each BullMQ job. The job NAME is the task id
 * (`<category>:<Class>`), the job ID the task's unique id. Per-attempt records
 * live in `data.meta.history` (not `job.log`) so one HGET shows a task's whole
 * story: first submission, parent, deferrals and each failed or requeued
 * attempt's outcome, duration and error. The successful attempt is not written
 * again: BullMQ's `attemptsMade`, `processedOn`, `finishedOn` and `returnvalue`
 * describe it.
 */
export interface AttemptRecord {
  attempt: number;
  startedAt: number;
  durationMs: number;
  outcome: "completed" | "failed" | "requeued";
  error?: { type: string; message: string; stack?: string };
}

/** One deferral: the lock that blocked, when it could clear (from the lock manager) and the delay chosen. */
export interface DeferralRecord {
  /** ms since epoch when the task was put back. */
  at: number;
  blockedBy: string;
  retryAfterMs: number;
  delayMs: number;
}

export interface TaskJobMeta {
  /** ms since epoch of the first submission; kept across retries and deferrals. */
  firstSubmittedAt: number;
  parentTaskId?: string;
  labels: Record<string, string>;
  /** Times the task was put back because a lock was busy (not attempts). */
  deferrals: number;
  /** The latest deferrals, newest last (bounded like `history`). */
  deferralLog?: DeferralRecord[];
  history: AttemptRecord[];
  /** W3C trace context of the task's creation (observability/tracing.ts); absent for periodic runs. */
  trace?: TraceCarrier;
}

import type { JobsOptions } from "bullmq";
import type { Size } from "./priorities.ts";
import type { SubmitOptions } from "./producer-types.ts";
import type { TaskClass } from "./task.ts";

/** One submission before validation: a task id (or a registered class), its args and options. */
export interface BulkItem {
  task: string | TaskClass;
  args: unknown;
  opts?: SubmitOptions;
}

/** A validated submission, ready for BullMQ: queue size, job name (the task id), data, options. */
export interface PreparedJob {
  size: Size;
  name: string;
  data: StoredTaskJobData;
  opts: JobsOptions;
}

/** A job's data as the worker works with it: what the stored form left out filled in (job-validation.ts). */
export interface TaskJobData {
  /** Layout version (job-validation.ts JOB_DATA_VERSION; docs/job-data.schema.json); absent = 1. */
  v?: 1;
  args: Record<string, unknown>;
  meta: TaskJobMeta;
}

/**
 * A job's data as stored in Redis. A fresh task's `meta` holds only what differs from the
 * defaults (no labels, no deferrals, empty history, first submitted at the job's own
 * timestamp), and is absent when nothing does, so that a small task's job hash stays within
 * Redis's compact encoding (every value up to `hash-max-listpack-value`, 64 bytes by default;
 * README, "Job records"). The worker fills the defaults in when it reads a job (`readJobData`).
 */
export interface StoredTaskJobData {
  v?: 1;
  args: Record<string, unknown>;
  meta?: Partial<Pick<TaskJobMeta, "firstSubmittedAt" | "labels" | "deferrals" | "history">> & Omit<TaskJobMeta, "firstSubmittedAt" | "labels" | "deferrals" | "history">;
}

/** Oldest records are dropped past this, so a task retried forever keeps a bounded job hash. */
export const MAX_HISTORY = 50;

export function appendHistory(meta: TaskJobMeta, rec: AttemptRecord): TaskJobMeta {
  const history = [...meta.history, rec];
  return { ...meta, history: history.slice(-MAX_HISTORY) };
}

export function appendDeferral(meta: TaskJobMeta, rec: DeferralRecord): TaskJobMeta {
  const log = [...(meta.deferralLog ?? []), rec];
  return { ...meta, deferrals: (meta.deferrals ?? 0) + 1, deferralLog: log.slice(-MAX_HISTORY) };
}

/** Stacks are kept (bounded) because the dead-letter queue stores every attempt's stack. */
const MAX_STACK_CHARS = 4_000;

export function errorRecord(err: unknown): { type: string; message: string; stack?: string } {
  if (err instanceof Error) {
    return { type: err.name || err.constructor.name, message: err.message, ...(err.stack ? { stack: err.stack.slice(0, MAX_STACK_CHARS) } : {}) };
  }
  return { type: typeof err, message: String(err) };
}
