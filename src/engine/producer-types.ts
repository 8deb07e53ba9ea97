/** Options of one submission. */
export interface SubmitOptions {
  /** Run at (or after) this time. */
  at?: Date;
  /** Run after this many milliseconds. */
  delay?: number;
  /** Free-form labels kept with the task (e.g. vo). */
  labels?: Record<string, string>;
  /** Task id of the task that spawned this one (set automatically inside tasks). */
  parentTaskId?: string;
  /** Use this task id instead of a fresh one (dead-letter resubmission claims the id before enqueueing). */
  taskId?: string;
}
