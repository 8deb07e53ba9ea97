import { Queue } from "bullmq";
import type { BrokerConnection } from "../redis-cluster.ts";
import { DEAD_LETTER_STATUSES } from "../db/sql/task-db.ts";
import { outboxSize } from "../engine/dead-letter.ts";
import { BULL_PREFIX } from "../engine/keys.ts";
import { registerQueueGauges, type QueueGaugeSource } from "../engine/metrics.ts";
import { queueNameFor, type Size } from "../engine/priorities.ts";
import { LockManager } from "../locks/index.ts";
import { ScheduleStore } from "../scheduler/state.ts";
import { allQueueStatus } from "./queue-status.ts";

export interface QueueGaugeOptions {
  redis: BrokerConnection;
  /** Dead letters with one status in TaskDB; leave out when TaskDB is not configured. */
  countDeadLetters?: (status: (typeof DEAD_LETTER_STATUSES)[number]) => Promise<number>;
}

/**
 * Registers the queue-level gauges of the one component that exports them (the scheduler),
 * read at scrape time through the same functions `status --json` uses. Returns a function
 * that unregisters them and closes the queues it opened.
 */
export function exportQueueGauges(opts: QueueGaugeOptions): () => Promise<void> {
  const queues = new Map<Size, Queue>();
  const queueOf = (size: Size): Queue => {
    let q = queues.get(size);
    if (!q) {
      q = new Queue(queueNameFor(size), { connection: opts.redis, prefix: BULL_PREFIX });
      q.on("error", () => {}); // the broker connection reports its own outages
      queues.set(size, q);
    }
    return q;
  };
  const store = new ScheduleStore(opts.redis);
  const locks = new LockManager(opts.redis);
  const { countDeadLetters } = opts;
  const source: QueueGaugeSource = {
    queues: () => allQueueStatus(queueOf),
    deadLetterOutbox: () => outboxSize(opts.redis),
    schedules: () => store.all(),
    locksHeld: async () => (await locks.list()).filter((l) => l.holders.length > 0).map((l) => ({ family: l.type, objectType: l.objectType })),
    ...(countDeadLetters
      ? {
          deadLetters: async () =>
            Object.fromEntries(await Promise.all(DEAD_LETTER_STATUSES.map(async (s) => [s, await countDeadLetters(s)] as const))),
        }
      : {}),
  };
  const unregister = registerQueueGauges(source);
  return async () => {
    unregister();
    await Promise.all([...queues.values()].map((q) => q.close()));
  };
}
