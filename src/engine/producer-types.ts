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

/** The part of the producer that `task.schedule()` needs (kept apart to avoid an import cycle). */
export interface TaskSubmitter {
  submitInstance(task: object, opts?: SubmitOptions): Promise<string>;
  /** Fan-out/fan-in (src/engine/fanout.ts); the Producer implements it. */
  spawnWithCallback?(children: readonly object[], callback: object, opts?: SubmitOptions & { requireAllSuccess?: boolean }): Promise<{ groupId: string; callbackTaskId: string; childTaskIds: string[] }>;
}
