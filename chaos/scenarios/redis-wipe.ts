// The broker is wiped (FLUSHALL) under load: what was queued in Redis is gone — the figures say how
// much, and check that only that was lost (what had finished stays finished) and that the workers
// carry on with what is submitted afterwards.
import { account, between, figure, progress, Stack, until, type Figures } from "../_support.ts";

export const defaults = {
  tasks: 1000,
  /** Tasks submitted with a delay (still in Redis's delayed set at the wipe). */
  delayed: 50,
  /** Tasks submitted after the wipe: all must complete. */
  after: 200,
  workers: 2,
  concurrency: 2,
  "min-ms": 50,
  "max-ms": 100,
  "wipe-after": 200,
  "job-lock-ms": 5000,
  "timeout-s": 900,
};
export type Options = typeof defaults;

export const description = "FLUSHALL of the broker under load, then more tasks";

export async function run(o: Options): Promise<Figures> {
  const stack = await Stack.start({ workers: o.workers, concurrency: o.concurrency, jobLockMs: o["job-lock-ms"] });
  try {
    await stack.workersOnline(o.workers);
    const before = await stack.submit("chaos:Work", Array.from({ length: o.tasks }, (_, n) => ({ n, ms: between(o["min-ms"], o["max-ms"]) })));
    for (const [id, n] of await stack.submitDelayed("chaos:Work", Array.from({ length: o.delayed }, (_, i) => ({ n: o.tasks + i, ms: 10 })), 3_600_000)) before.set(id, n);
    await until(`${o["wipe-after"]} tasks done`, async () => (await stack.doneCount()) >= Math.min(o["wipe-after"], o.tasks), o["timeout-s"] * 1000);
    const counts = await stack.queue.getJobCounts("waiting", "delayed", "prioritized", "active");
    const queuedAtWipe = Object.values(counts).reduce((a, b) => a + b, 0);
    const doneAtWipe = await stack.doneCount();
    progress(`FLUSHALL with ${queuedAtWipe} tasks queued or running`);
    await stack.redis.flushall();
    const after = await stack.submit("chaos:Work", Array.from({ length: o.after }, (_, i) => ({ n: o.tasks + o.delayed + i, ms: 10 })));
    await until(`the ${o.after} tasks submitted after the wipe`, async () => (await stack.ledger.smismember("chaos:done", [...after.values()].map(String))).every(Boolean), o["timeout-s"] * 1000).catch(() => {});
    const a = await account(stack, after, { awaitDeadLetters: false });
    const b = await account(stack, before, { awaitDeadLetters: false });
    const alive = [...stack.pool.procs].filter((p) => p.exitCode === null).length;
    return {
      queued_at_wipe: figure(queuedAtWipe, "tasks"),
      done_at_wipe: figure(doneAtWipe, "tasks"),
      lost_in_wipe: figure(b.lost, "tasks", "≤ queued_at_wipe"),
      lost_beyond_queued: figure(Math.max(0, b.lost - queuedAtWipe), "tasks", "= 0"),
      after_wipe_submitted: figure(a.submitted, "tasks"),
      after_wipe_lost: figure(a.lost, "tasks", "= 0"),
      after_wipe_silent_failures: figure(a.silentFailures, "tasks", "= 0"),
      workers_alive: figure(alive, "processes", `= ${o.workers}`),
    };
  } finally {
    await stack.close();
  }
}
