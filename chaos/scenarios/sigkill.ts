// SIGKILL storm: N workers run 10,000 tasks of 50–200 ms while one of them is SIGKILLed (and
// replaced) every 2–3 s until the queue is drained — one that has taken work: a replacement still
// starting is not killed, or on a busy machine no worker would ever get to run anything. At-least-once delivery means some tasks run
// twice; none may be lost, and any that fails for good (a task whose workers died more than the
// stalled limit, DIRACX_TASKS_MAX_STALLED_COUNT) must be logged and dead-lettered.
import { setTimeout as sleep } from "node:timers/promises";
import { account, accountingFigures, between, figure, progress, Stack, type Figures } from "../_support.ts";

export const defaults = {
  tasks: 10_000,
  workers: 3,
  concurrency: 2,
  "min-ms": 50,
  "max-ms": 200,
  "kill-min-ms": 2000,
  "kill-max-ms": 3000,
  /** Stop killing after this many kills (0: kill until drained). */
  kills: 0,
  /** BullMQ job lock: how soon a killed worker's tasks are given to another. */
  "job-lock-ms": 5000,
  /** DIRACX_TASKS_MAX_STALLED_COUNT (0 = the default of src/settings.ts). */
  "max-stalled": 0,
  "timeout-s": 3600,
};
export type Options = typeof defaults;

export const description = "N workers, a worker SIGKILLed every 2–3 s until 10,000 tasks of 50–200 ms are drained";

export async function run(o: Options): Promise<Figures> {
  const stack = await Stack.start({ workers: o.workers, concurrency: o.concurrency, jobLockMs: o["job-lock-ms"], maxStalled: o["max-stalled"] || undefined });
  try {
    progress(`stack up; waiting for ${o.workers} workers`);
    await stack.workersOnline(o.workers);
    progress(`submitting ${o.tasks} tasks`);
    const started = Date.now();
    const submitted = await stack.submit(
      "chaos:Work",
      Array.from({ length: o.tasks }, (_, n) => ({ n, ms: between(o["min-ms"], o["max-ms"]) })),
    );
    let nextKill = Date.now() + between(o["kill-min-ms"], o["kill-max-ms"]);
    const drained = await stack.drain(submitted.size, {
      idleMs: 4 * o["job-lock-ms"],
      timeoutMs: o["timeout-s"] * 1000,
      tick: async () => {
        if (Date.now() < nextKill || (o.kills > 0 && stack.pool.kills >= o.kills)) return;
        // A worker still starting (cold start takes seconds on a busy machine) is left to start.
        if (!stack.pool.killOne(await stack.workingPids())) return;
        if (stack.pool.kills % 10 === 0) progress(`${stack.pool.kills} kills`);
        nextKill = Date.now() + between(o["kill-min-ms"], o["kill-max-ms"]);
      },
    });
    const seconds = (Date.now() - started) / 1000;
    progress(`${drained ? "drained" : "not drained"} after ${Math.round(seconds)} s; accounting`);
    // Let a worker that is still starting or recovering settle its last outcomes.
    await sleep(500);
    const a = await account(stack, submitted);
    return {
      workers: figure(o.workers, "processes"),
      kills: figure(stack.pool.kills, "SIGKILLs", "≥ 80 at full size"),
      drained: figure(drained ? 1 : 0, "bool", "= 1"),
      drain_seconds: figure(seconds, "s"),
      ...accountingFigures(a),
      ...Object.fromEntries(Object.entries(a.reasons).map(([r, n]) => [`failed_for_good_reason.${r.replaceAll(" ", "_")}`, figure(n, "tasks")])),
    };
  } finally {
    await stack.close();
  }
}
