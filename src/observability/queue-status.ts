import type { Queue } from "bullmq";
import { bullmqPriority, PRIORITIES, SIZES, type Priority, type Size } from "../engine/priorities.ts";

/** One size's queue as `status` prints it and the scheduler's gauges export it (one reading for both). */
export interface QueueStatus {
  size: Size;
  waiting: Record<Priority, number>;
  /** Age of the oldest task waiting at each priority, in seconds; null when none waits. */
  oldestWaitingSeconds: Record<Priority, number | null>;
  delayed: number;
  running: number;
  failed: number;
  completed: number;
  workers: number;
}

/**
 * The id of the oldest task waiting at `priority`. BullMQ scores a prioritized job
 * priority·2³² + insertion counter, so the set reads level by level, oldest first: the
 * oldest of a level sits after every job of the levels before it.
 */
async function oldestWaitingId(queue: Queue, priority: Priority, perLevel: Record<string, number>): Promise<string | undefined> {
  const level = bullmqPriority(priority);
  if (level === undefined) {
    const [job] = await queue.getJobs(["wait"], 0, 0, true);
    return job?.id;
  }
  if (!perLevel[String(level)]) return undefined;
  let offset = 0;
  for (const p of PRIORITIES) {
    const l = bullmqPriority(p);
    if (l !== undefined && l < level) offset += perLevel[String(l)] ?? 0;
  }
  const [job] = await queue.getJobs(["prioritized"], offset, offset, true);
  return job?.id;
}

async function oldestWaitingSeconds(queue: Queue, priority: Priority, perLevel: Record<string, number>, now: number): Promise<number | null> {
  const id = await oldestWaitingId(queue, priority, perLevel);
  if (!id) return null;
  const job = await queue.getJob(id);
  // Gone between the two reads: it was just taken, so nothing of that age waits any more.
  return job ? Math.max(0, (now - job.timestamp) / 1000) : null;
}

export async function queueStatus(size: Size, queue: Queue, now = Date.now()): Promise<QueueStatus> {
  const levels = PRIORITIES.map((p) => bullmqPriority(p) ?? 0);
  const [perPriority, counts, workers] = await Promise.all([
    queue.getCountsPerPriority(levels),
    queue.getJobCounts("delayed", "active", "failed", "completed"),
    queue.getWorkersCount(),
  ]);
  const oldest = await Promise.all(PRIORITIES.map((p) => oldestWaitingSeconds(queue, p, perPriority, now)));
  const waiting = Object.fromEntries(PRIORITIES.map((p) => [p, perPriority[String(bullmqPriority(p) ?? 0)] ?? 0])) as Record<Priority, number>;
  return {
    size,
    waiting,
    oldestWaitingSeconds: Object.fromEntries(PRIORITIES.map((p, i) => [p, oldest[i] ?? null])) as Record<Priority, number | null>,
    delayed: counts.delayed ?? 0,
    running: counts.active ?? 0,
    failed: counts.failed ?? 0,
    completed: counts.completed ?? 0,
    workers,
  };
}

/** Every size's status, in SIZES order. */
export function allQueueStatus(queueOf: (size: Size) => Queue, now = Date.now()): Promise<QueueStatus[]> {
  return Promise.all(SIZES.map((size) => queueStatus(size, queueOf(size), now)));
}
