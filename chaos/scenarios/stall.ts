// A long task whose event loop is blocked (CPU-bound code) in chunks: BullMQ renews the job lock
// from that same event loop, so the task is redelivered to another worker only when one block
// lasts longer than the job lock (DIRACX_TASKS_JOB_LOCK_MS). Below it, the task runs exactly once.
import { account, accountingFigures, figure, progress, Stack, type Figures } from "../_support.ts";

export const defaults = {
  tasks: 2,
  workers: 2,
  /** One block of the event loop (ms). */
  "block-ms": 2000,
  /** Blocks per task: the task lasts about block-ms × blocks. */
  blocks: 10,
  "job-lock-ms": 5000,
  "timeout-s": 900,
};
export type Options = typeof defaults;

export const description = "long tasks blocking their event loop in chunks (block-ms × blocks) under a job lock of job-lock-ms";

export async function run(o: Options): Promise<Figures> {
  const stack = await Stack.start({ workers: o.workers, concurrency: 1, jobLockMs: o["job-lock-ms"] });
  try {
    await stack.workersOnline(o.workers);
    progress(`${o.tasks} tasks of ${o.blocks} × ${o["block-ms"]} ms blocks, job lock ${o["job-lock-ms"]} ms`);
    const submitted = await stack.submit("chaos:Stall", Array.from({ length: o.tasks }, (_, n) => ({ n, blockMs: o["block-ms"], blocks: o.blocks })));
    const drained = await stack.drain(submitted.size, { idleMs: 4 * o["job-lock-ms"], timeoutMs: o["timeout-s"] * 1000 });
    const a = await account(stack, submitted);
    const starts = await stack.ledger.hgetall("chaos:starts");
    const runs = Object.values(starts).reduce((s, c) => s + Number(c), 0);
    return {
      block_ms: figure(o["block-ms"], "ms"),
      job_lock_ms: figure(o["job-lock-ms"], "ms"),
      drained: figure(drained ? 1 : 0, "bool", "= 1"),
      executions: figure(runs, "runs", o["block-ms"] < o["job-lock-ms"] ? "= tasks (block < job lock)" : "> tasks (block > job lock: redelivered)"),
      ...accountingFigures(a),
    };
  } finally {
    await stack.close();
  }
}
