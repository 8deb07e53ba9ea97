/**
 * The one place that maps a task's declared priority and size onto BullMQ.
 *
 * Strict order within a size comes from BullMQ itself: a worker's move-to-active
 * script pops the plain `wait` list before it looks at the `prioritized` set. So
 * realtime jobs carry no BullMQ priority (they go to `wait`), and normal /
 * background carry 1 / 2 (lower number first inside `prioritized`). A worker
 * therefore never starts a normal task while a realtime one of its size waits,
 * and never a background one while a normal one waits.
 */
export const PRIORITIES = ["realtime", "normal", "background"] as const;
export type Priority = (typeof PRIORITIES)[number];

export const SIZES = ["small", "medium", "large"] as const;
export type Size = (typeof SIZES)[number];

const BULLMQ_PRIORITY: Record<Priority, number | undefined> = {
  realtime: undefined,
  normal: 1,
  background: 2,
};

/** The BullMQ job priority for a task priority (undefined = the FIFO `wait` list). */
export function bullmqPriority(priority: Priority): number | undefined {
  return BULLMQ_PRIORITY[priority];
}

/** The task priority a BullMQ job priority stands for (for status and dashboards). */
export function priorityFromBullmq(value: number | undefined): Priority {
  if (!value) return "realtime";
  return value === 1 ? "normal" : "background";
}

/** Queue name for a size; the Redis prefix lives in keys.ts. */
export function queueNameFor(size: Size): string {
  return `tasks-${size}`;
}

/** Default attempt timeout per size: small tasks are expected to be quick, large ones are not. */
export const DEFAULT_TIMEOUT_MS: Record<Size, number> = {
  small: 60_000,
  medium: 10 * 60_000,
  large: 60 * 60_000,
};

export function isPriority(v: unknown): v is Priority {
  return typeof v === "string" && (PRIORITIES as readonly string[]).includes(v);
}

export function isSize(v: unknown): v is Size {
  return typeof v === "string" && (SIZES as readonly string[]).includes(v);
}
