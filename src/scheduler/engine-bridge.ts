/**
 * The few engine facts the scheduler needs (queue names, BullMQ prefix, priority mapping).
 * TEMPORARY local copy in the engine's shapes until the engine branch lands; then this file
 * re-exports `src/engine/priorities.ts` / `src/engine/keys.ts` so there is one home for each.
 */
export const PRIORITIES = ["realtime", "normal", "background"] as const;
export type Priority = (typeof PRIORITIES)[number];
export const SIZES = ["small", "medium", "large"] as const;
export type Size = (typeof SIZES)[number];

export const BULL_PREFIX = "diracx";
export const DEFAULT_REDIS_URL = "redis://localhost:6379";
export function redisUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.DIRACX_TASKS_REDIS_URL || DEFAULT_REDIS_URL;
}

const BULLMQ_PRIORITY: Record<Priority, number | undefined> = { realtime: undefined, normal: 1, background: 2 };
export function bullmqPriority(priority: Priority): number | undefined {
  return BULLMQ_PRIORITY[priority];
}
export function queueNameFor(size: Size): string {
  return `tasks-${size}`;
}

/**
 * What a scheduled run puts on the queue: the job the engine's producer would submit for
 * `taskId` with `args`. TEMPORARY until the engine's producer exposes its job builder.
 */
export function scheduledJobTemplate(taskId: string, args: Record<string, unknown>, priority: Priority): {
  name: string;
  data: Record<string, unknown>;
  opts: { priority?: number };
} {
  const p = bullmqPriority(priority);
  return { name: taskId, data: { args }, opts: p === undefined ? {} : { priority: p } };
}
