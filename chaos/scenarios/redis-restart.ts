// The broker restarts under load (a clean restart: its append-only file keeps the queues). Workers
// reconnect by themselves; nothing is lost, and the figures say how soon work resumed and how
// many log lines the outage cost.
import { setTimeout as sleep } from "node:timers/promises";
import { account, accountingFigures, between, figure, progress, Stack, until, type Figures } from "../_support.ts";

export const defaults = {
  tasks: 3000,
  workers: 3,
  concurrency: 4,
  "min-ms": 20,
  "max-ms": 80,
  /** Restart once this many tasks are done. */
  "restart-after": 500,
  /** How long Redis stays down (ms). */
  "down-ms": 5000,
  "job-lock-ms": 5000,
  "timeout-s": 1800,
};
export type Options = typeof defaults;

export const description = "Redis stopped (down-ms) and started again under load";

export async function run(o: Options): Promise<Figures> {
  const stack = await Stack.start({ workers: o.workers, concurrency: o.concurrency, jobLockMs: o["job-lock-ms"], persistentBroker: true });
  try {
    await stack.workersOnline(o.workers);
    const submitted = await stack.submit("chaos:Work", Array.from({ length: o.tasks }, (_, n) => ({ n, ms: between(o["min-ms"], o["max-ms"]) })));
    await until(`${o["restart-after"]} tasks done`, async () => (await stack.doneCount()) >= Math.min(o["restart-after"], o.tasks), o["timeout-s"] * 1000);
    const linesBefore = stack.pool.lines;
    progress(`stopping Redis for ${o["down-ms"]} ms`);
    await stack.broker.down("SIGTERM");
    await sleep(o["down-ms"]);
    const doneAtRestart = await stack.doneCount();
    await stack.broker.up();
    const upAt = Date.now();
    progress("Redis is back");
    let resumeMs = -1;
    await until("a task done after the restart", async () => {
      if ((await stack.doneCount()) > doneAtRestart || doneAtRestart >= o.tasks) resumeMs = Date.now() - upAt;
      return resumeMs >= 0;
    }, 120_000).catch(() => {});
    const drained = await stack.drain(submitted.size, { idleMs: 4 * o["job-lock-ms"], timeoutMs: o["timeout-s"] * 1000 });
    const outageLines = stack.pool.lines - linesBefore;
    const a = await account(stack, submitted);
    return {
      drained: figure(drained ? 1 : 0, "bool", "= 1"),
      down_ms: figure(o["down-ms"], "ms"),
      resume_ms: figure(resumeMs, "ms", "first task done after Redis is back"),
      worker_crashes: figure(stack.pool.crashes, "processes", "= 0"),
      log_lines_per_worker: figure(outageLines / Math.max(1, o.workers), "lines", "a few per outage"),
      ...accountingFigures(a),
    };
  } finally {
    await stack.close();
  }
}
