import type { Queue } from "bullmq";
import type { BrokerConnection } from "../redis-cluster.ts";
import type { Logger } from "../logging.ts";

/** BullMQ scores a delayed job `dueMs · 0x1000 + sequence` (its delayed set, getDelayedScore.lua). */
const DELAYED_SCORE_FACTOR = 0x1000;

export interface DueJobWakerOptions {
  /** Longest sleep between two looks at the delayed sets, in ms (new delayed jobs are seen within it). */
  maxSleepMs?: number;
  logger: Logger;
}

/**
 * Wakes the workers of the task queues when a delayed job (a periodic run, a retry, a deferral)
 * falls due, so periodic runs start on time.
 *
 * Why it is needed: a worker waiting for the next delayed job blocks in BZPOPMIN with a timeout
 * ending at that job's time, and Redis ends blocking timeouts on its own clock tick (`hz`, ten a
 * second by default), so the worker took the job up to ~100 ms late — the tail of a schedule's
 * lateness. This loop adds the queue's "job ready" marker (what BullMQ itself writes when a job
 * becomes waiting) one millisecond after the earliest delayed job is due: a blocked worker wakes
 * at once and promotes whatever is due. An extra wake (two schedulers, a job taken meanwhile)
 * costs one empty poll and nothing else; nothing is promoted early.
 */
export class DueJobWaker {
  private readonly maxSleepMs: number;
  private readonly woken = new Map<string, number>();
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly redis: BrokerConnection,
    private readonly queues: readonly Queue[],
    private readonly opts: DueJobWakerOptions,
  ) {
    this.maxSleepMs = opts.maxSleepMs ?? 250;
  }

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.loop = undefined;
  }

  /** One look at the delayed sets: wakes the queues whose earliest job is due; returns when to look next (epoch ms). */
  async tick(now = Date.now()): Promise<number> {
    const pipeline = this.redis.pipeline();
    for (const q of this.queues) pipeline.zrange(q.keys.delayed!, 0, 0, "WITHSCORES");
    const replies = (await pipeline.exec()) ?? [];
    let next = now + this.maxSleepMs;
    const wake = this.redis.pipeline();
    let wakes = 0;
    this.queues.forEach((q, i) => {
      const [err, reply] = replies[i] ?? [];
      const [, score] = (err ? [] : (reply as string[])) ?? [];
      if (score === undefined) return;
      const due = Math.floor(Number(score) / DELAYED_SCORE_FACTOR);
      if (due > now) {
        next = Math.min(next, due + 1);
        return;
      }
      // Due (or overdue because every worker is busy): wake once per due time, then leave it to them.
      if (this.woken.get(q.name) === due) return;
      this.woken.set(q.name, due);
      wake.zadd(q.keys.marker!, 0, "0");
      wakes++;
    });
    if (wakes) await wake.exec();
    return next;
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let next: number;
      try {
        next = await this.tick();
      } catch (err) {
        // The broker is away: workers cannot take jobs either; look again later.
        this.opts.logger.debug({ err: (err as Error).message }, "due-job waker: cannot read the delayed sets");
        next = Date.now() + this.maxSleepMs;
      }
      await sleepUntil(next, signal);
    }
  }
}

function sleepUntil(at: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, Math.max(1, at - Date.now()));
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
