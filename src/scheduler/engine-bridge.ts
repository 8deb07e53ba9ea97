/**
 * The engine facts the scheduler relies on, gathered in one import site: queue names, the
 * BullMQ prefix, priority mapping, and the shape of the job a scheduled run submits.
 */
import type { JobsOptions } from "bullmq";
import { BULL_PREFIX } from "../engine/keys.ts";
import { bullmqPriority, PRIORITIES, queueNameFor, SIZES, type Priority, type Size } from "../engine/priorities.ts";
import { newTaskJobData, taskJobOptions } from "../engine/producer.ts";
import type { StoredTaskJobData } from "../engine/job-data.ts";
import { brokerErrorReporter } from "../engine/connection.ts";

export { BULL_PREFIX, brokerErrorReporter, bullmqPriority, PRIORITIES, queueNameFor, SIZES, type Priority, type Size };

export interface JobTemplate {
  name: string;
  data: StoredTaskJobData;
  opts: JobsOptions;
}

/**
 * The job each run of a schedule submits: the same data and options as the engine's producer
 * gives a submitted task (retries through the task's policy; the workers' retention), at the task's priority,
 * labelled with its VO and schedule id. Each run is first submitted when BullMQ creates its job
 * (`job.timestamp`).
 */
export function scheduledJobTemplate(taskId: string, args: Record<string, unknown>, priority: Priority, scheduleId: string): JobTemplate {
  const labels: Record<string, string> = { schedule: scheduleId };
  if (typeof args.vo === "string") labels.vo = args.vo;
  return { name: taskId, data: newTaskJobData(args, labels), opts: taskJobOptions(priority) };
}
