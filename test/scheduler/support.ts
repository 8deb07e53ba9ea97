import { parseMultiNodeUrl, type BrokerConnection } from "../../src/redis-cluster.ts";
import { redisClient } from "../support/redis.ts";
import { Worker, type ConnectionOptions, type Job } from "bullmq";
import { BULL_PREFIX } from "../../src/scheduler/engine-bridge.ts";
import { diracxRepeatStrategy } from "../../src/scheduler/repeat-strategy.ts";
import type { PeriodicTaskInfo } from "../../src/scheduler/desired.ts";
import type { ScheduleSpec } from "../../src/schedule/index.ts";

/** Polls `cond` every 20 ms until it holds; fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, cond: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function connect(url: string): BrokerConnection {
  return redisClient(url, { maxRetriesPerRequest: null });
}

/**
 * Connection options (not a client) so the BullMQ object owns, and closes, its connections. A
 * cluster has no such options form: there it is a client of its own, closed when the test ends.
 */
export function connectionOptions(url: string): ConnectionOptions {
  if (parseMultiNodeUrl(url)) return redisClient(url, { maxRetriesPerRequest: null });
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null };
}

export interface Run {
  schedule: string;
  nominal: number;
  startedAt: number;
  jobId: string;
}

/** Nominal time of a scheduler-produced job: BullMQ ids are `repeat:<schedulerId>:<millis>`. */
export function nominalOf(job: Job): number {
  return Number(String(job.id).split(":").pop());
}

/**
 * A plain BullMQ worker on a task queue, sharing the scheduler's repeat strategy, recording runs.
 * Its backoff strategy stands in for the engine's retry policy: no retries.
 */
export function recordingWorker(url: string, queue: string, runs: Run[], process?: (job: Job) => Promise<unknown>): Worker {
  return new Worker(
    queue,
    async (job) => {
      if (job.repeatJobKey) runs.push({ schedule: job.repeatJobKey, nominal: nominalOf(job), startedAt: Date.now(), jobId: String(job.id) });
      return process ? process(job) : undefined;
    },
    { connection: connectionOptions(url), prefix: BULL_PREFIX, settings: { repeatStrategy: diracxRepeatStrategy, backoffStrategy: () => -1 }, concurrency: 10 },
  );
}

export function periodic(taskId: string, schedule: ScheduleSpec, more: Partial<PeriodicTaskInfo> = {}): PeriodicTaskInfo {
  return { taskId, voAware: false, enabled: true, schedule, priority: "normal", size: "small", ...more };
}
