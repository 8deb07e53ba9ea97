// How long and how many finished tasks BullMQ keeps in Redis. The worker that finishes a task
// applies it (BullMQ's worker-level removeOnComplete / removeOnFail), so the setting lives in
// one place, a job does not carry the same two objects in every hash, and jobs another
// producer wrote are bounded too. A job that carries its own (the producer's explicit
// `retention` option, or jobs queued by an older release) keeps it.
import type { KeepJobs } from "bullmq";
import { TasksSettings } from "../settings.ts";

/** How long finished tasks stay inspectable in Redis. */
export interface Retention {
  completedSeconds: number;
  failedSeconds: number;
  /** Most completed / failed jobs kept per size queue (absent: no count bound). */
  completedCount?: number;
  failedCount?: number;
}

/**
 * Job retention from the task system's settings, read once at wiring (`createEngine`, the
 * worker and scheduler commands; a bad DIRACX_TASKS_* value is refused there) and passed down.
 * Without them, the defaults.
 */
export function retentionOf(s: TasksSettings = TasksSettings.fromEnv({})): Retention {
  return { completedSeconds: s.keepCompletedSeconds, failedSeconds: s.keepFailedSeconds, completedCount: s.keepCompletedCount, failedCount: s.keepFailedCount };
}

/** BullMQ's KeepJobs for completed and failed jobs. */
export function keepJobs(r: Retention): { removeOnComplete: KeepJobs; removeOnFail: KeepJobs } {
  return {
    removeOnComplete: { age: r.completedSeconds, ...(r.completedCount !== undefined ? { count: r.completedCount } : {}) },
    removeOnFail: { age: r.failedSeconds, ...(r.failedCount !== undefined ? { count: r.failedCount } : {}) },
  };
}
