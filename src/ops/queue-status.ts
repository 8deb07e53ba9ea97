// Queue depth per size × priority, delayed, running, failed, workers: what `status` prints and
// the tasks router's status answers.
import type { Queue } from "bullmq";
import { bullmqPriority, PRIORITIES, SIZES, type Priority, type Size } from "../engine/priorities.ts";

export interface QueueStatus {
  size: Size;
  waiting: Record<Priority, number>;
  delayed: number;
  running: number;
  failed: number;
  completed: number;
  workers: number;
}

export async function queueStatuses(producer: { queue(size: Size): Queue }): Promise<QueueStatus[]> {
  const out: QueueStatus[] = [];
  for (const size of SIZES) {
    const q = producer.queue(size);
    const levels = PRIORITIES.map((p) => bullmqPriority(p) ?? 0);
    const perPriority = await q.getCountsPerPriority(levels);
    const counts = await q.getJobCounts("delayed", "active", "failed", "completed");
    const waiting = Object.fromEntries(PRIORITIES.map((p) => [p, perPriority[String(bullmqPriority(p) ?? 0)] ?? 0])) as Record<Priority, number>;
    out.push({ size, waiting, delayed: counts.delayed ?? 0, running: counts.active ?? 0, failed: counts.failed ?? 0, completed: counts.completed ?? 0, workers: await q.getWorkersCount() });
  }
  return out;
}
