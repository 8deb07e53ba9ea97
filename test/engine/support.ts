import { setTimeout as sleep } from "node:timers/promises";
import type { BrokerConnection } from "../../src/redis-cluster.ts";

/** Polls `check` until it returns a truthy value; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export interface RunRecord {
  taskId: string;
  attempt: number;
  pid: number;
  at: number;
  [k: string]: unknown;
}

/** Executions recorded by the fixture tasks under `runs:<key>`. */
export async function runs(redis: BrokerConnection, key: string): Promise<RunRecord[]> {
  return (await redis.lrange(`runs:${key}`, 0, -1)).map((s) => JSON.parse(s) as RunRecord);
}

/** Waits until job `id` is in one of `states`, then returns it as read after that (no stale fields). */
export async function waitForJob(
  queue: { getJobState(id: string): Promise<string>; getJob(id: string): Promise<import("bullmq").Job | undefined> },
  id: string,
  states: string[] = ["completed", "failed"],
  timeoutMs = 20_000,
): Promise<import("bullmq").Job> {
  await waitFor(`job ${id} to be ${states.join("/")}`, async () => states.includes(await queue.getJobState(id)), timeoutMs);
  const job = await queue.getJob(id);
  if (!job) throw new Error(`job ${id} disappeared`);
  return job;
}
