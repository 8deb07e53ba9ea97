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

export interface TaskJobMeta {
  /** ms since epoch of the first submission; kept across retries and deferrals. */
  firstSubmittedAt: number;
  parentTaskId?: string;
  labels: Record<string, string>;
  /** Times the task was put back because a lock was busy (not attempts). */
  deferrals: number;
  history: AttemptRecord[];
  /** When the first of the current run of lock deferrals happened (for the lock-wait metric). */
  deferredSince?: number;
  /** W3C trace context of the task's creation (observability/tracing.ts); absent for periodic runs. */
  trace?: TraceCarrier;
}

export interface TaskJobData {
  args: Record<string, unknown>;
  meta: TaskJobMeta;
}

/** Oldest records are dropped past this, so a task retried forever keeps a bounded job hash. */
export const MAX_HISTORY = 50;

export function appendHistory(meta: TaskJobMeta, rec: AttemptRecord): TaskJobMeta {
  const history = [...meta.history, rec];
  return { ...meta, history: history.slice(-MAX_HISTORY) };
}

/** Stacks are kept (bounded) because the dead-letter queue stores every attempt's stack. */
const MAX_STACK_CHARS = 4_000;

export function errorRecord(err: unknown): { type: string; message: string; stack?: string } {
  if (err instanceof Error) {
    return { type: err.name || err.constructor.name, message: err.message, ...(err.stack ? { stack: err.stack.slice(0, MAX_STACK_CHARS) } : {}) };
  }
  return { type: typeof err, message: String(err) };
}
