// The tasks the fault-injection scenarios run. Each records its executions in a ledger Redis
// (CHAOS_LEDGER_URL) apart from the broker, so what ran survives a broker restart or wipe:
// `chaos:starts` (hash n → executions started) and `chaos:done` (set of n whose body finished).
import { sql, type Kysely } from "kysely";
import { Redis } from "ioredis";
import { z } from "zod";
import { BaseSQLDB, defineTask, ExponentialBackoff, StopRetrying, type ContextOf } from "diracx-tasks";

let client: Redis | undefined;
function ledger(): Redis {
  if (!client) {
    const url = process.env.CHAOS_LEDGER_URL;
    if (!url) throw new Error("CHAOS_LEDGER_URL is not set");
    client = new Redis(url, { maxRetriesPerRequest: null });
    client.on("error", () => {});
  }
  return client;
}

export const LEDGER = { starts: "chaos:starts", done: "chaos:done", pids: "chaos:pids" } as const;

let announced = false;
async function started(n: number): Promise<void> {
  // The worker processes that have taken work (a scenario kills those, not ones still starting).
  if (!announced) {
    announced = true;
    await ledger().sadd(LEDGER.pids, String(process.pid));
  }
  await ledger().hincrby(LEDGER.starts, String(n), 1);
}
async function finished(n: number): Promise<void> {
  await ledger().sadd(LEDGER.done, String(n));
}

/** Sleeps `ms` (50–200 in the SIGKILL storm): the plain unit of work. */
export class Work extends defineTask({
  args: z.object({ n: z.number().int().nonnegative(), ms: z.number().int().nonnegative() }),
  size: "small",
  dlqEligible: true,
  retryPolicy: new ExponentialBackoff({ baseDelaySeconds: 0.05, maxRetries: 2 }),
}) {
  async execute(ctx: ContextOf<typeof Work>): Promise<number> {
    await started(this.args.n);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, this.args.ms);
      ctx.signal.addEventListener("abort", () => (clearTimeout(t), reject(ctx.signal.reason)), { once: true });
    });
    await finished(this.args.n);
    return this.args.n;
  }
}

/** A long task that blocks its own event loop `blocks` times for `blockMs` (CPU-bound code). */
export class Stall extends defineTask({
  args: z.object({ n: z.number().int().nonnegative(), blockMs: z.number().int().positive(), blocks: z.number().int().positive() }),
  size: "small",
  dlqEligible: true,
  timeoutMs: 600_000,
}) {
  async execute(): Promise<number> {
    await started(this.args.n);
    for (let i = 0; i < this.args.blocks; i++) {
      const until = Date.now() + this.args.blockMs;
      while (Date.now() < until) {
        // busy: nothing else in this process runs, job-lock renewal included
      }
      await new Promise((r) => setImmediate(r));
    }
    await finished(this.args.n);
    return this.args.n;
  }
}

interface ChaosSchema {
  chaos_writes: { n: number; task_id: string };
}

/** Where DbWork commits: one row per committed execution, so a double commit shows. */
export class ChaosDB extends BaseSQLDB<ChaosSchema> {
  static override readonly dbName = "ChaosDB";
  static override readonly migrations = [
    {
      scope: "chaos",
      version: 1,
      name: "writes",
      up: async (db: Kysely<unknown>) => {
        await sql`CREATE TABLE IF NOT EXISTS chaos_writes (n INTEGER NOT NULL, task_id TEXT NOT NULL)`.execute(db);
      },
    },
  ];
  async write(n: number, taskId: string): Promise<void> {
    await this.db.insertInto("chaos_writes").values({ n, task_id: taskId }).execute();
  }
}

/** Writes one row in its transaction; retries long enough to outlive an outage of a minute or two. */
export class DbWork extends defineTask({
  args: z.object({ n: z.number().int().nonnegative() }),
  size: "small",
  dlqEligible: true,
  dependencies: { chaosDB: ChaosDB },
  retryPolicy: new ExponentialBackoff({ baseDelaySeconds: 0.5, maxRetries: 12 }),
}) {
  async execute(ctx: ContextOf<typeof DbWork>): Promise<number> {
    await started(this.args.n);
    await ctx.deps.chaosDB.write(this.args.n, ctx.taskId);
    await finished(this.args.n);
    return this.args.n;
  }
}

/** Fails for good at once, needing no database: its dead letter is written while TaskDB may be down. */
export class Doomed extends defineTask({ args: z.object({ n: z.number().int().nonnegative() }), size: "small", dlqEligible: true }) {
  async execute(): Promise<never> {
    await started(this.args.n);
    throw new StopRetrying(`task ${this.args.n} fails by design`);
  }
}
