// Queue depth per size × priority, delayed, running, failed, workers: what `status` prints, the
// tasks router's status answers and the dashboard shows. One reading, the scheduler's gauges'
// (src/observability/queue-status.ts), so every view agrees.
import type { Queue } from "bullmq";
import type { Size } from "../engine/priorities.ts";
import { allQueueStatus, type QueueStatus } from "../observability/queue-status.ts";

export type { QueueStatus };

export function queueStatuses(producer: { queue(size: Size): Queue }): Promise<QueueStatus[]> {
  return allQueueStatus((size) => producer.queue(size));
}
