// PostgreSQL (TaskDB and the tasks' own database) stops under DB-writing load and comes back:
// every write is committed exactly once, and the dead letters written during the outage (through
// the Redis outbox) all reach TaskDB afterwards.
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { account, accountingFigures, figure, progress, Stack, until, type Figures } from "../_support.ts";

export const defaults = {
  tasks: 3200,
  /** Tasks that fail for good during the outage (dead-letter eligible). */
  doomed: 80,
  workers: 2,
  concurrency: 4,
  "down-s": 30,
  "outage-after": 400,
  "job-lock-ms": 5000,
  "timeout-s": 1800,
};
export type Options = typeof defaults;

export const description = "PostgreSQL stopped down-s seconds under DB-writing tasks, with tasks failing for good meanwhile";

export async function run(o: Options): Promise<Figures> {
  const stack = await Stack.start({ workers: o.workers, concurrency: o.concurrency, jobLockMs: o["job-lock-ms"], privatePostgres: true });
  try {
    await stack.workersOnline(o.workers);
    const submitted = await stack.submit("chaos:DbWork", Array.from({ length: o.tasks }, (_, n) => ({ n })));
    await until(`${o["outage-after"]} writes`, async () => (await stack.doneCount()) >= Math.min(o["outage-after"], o.tasks), o["timeout-s"] * 1000);
    progress(`stopping PostgreSQL for ${o["down-s"]} s`);
    const linesBefore = stack.pool.lines;
    await stack.postgres!.pause();
    const downAt = Date.now();
    const doomed = await stack.submit("chaos:Doomed", Array.from({ length: o.doomed }, (_, i) => ({ n: o.tasks + i })));
    await until("the doomed tasks to fail", () => [...doomed.keys()].every((id) => stack.pool.failures.has(id)), o["down-s"] * 1000).catch(() => {});
    const doomedDuringOutage = [...doomed.keys()].filter((id) => stack.pool.failures.has(id)).length;
    await sleep(Math.max(0, downAt + o["down-s"] * 1000 - Date.now()));
    await stack.postgres!.resume();
    progress("PostgreSQL is back");
    const outageLines = stack.pool.lines - linesBefore;
    for (const [id, n] of doomed) submitted.set(id, n);
    const drained = await stack.drain(submitted.size, { idleMs: 4 * o["job-lock-ms"], timeoutMs: o["timeout-s"] * 1000 });
    const a = await account(stack, submitted);
    const inDb = await stack.deadLetterIds();
    const client = new pg.Client({ connectionString: stack.dbUrl });
    await client.connect();
    const { rows } = await client.query<{ n: number; c: string }>("SELECT n, count(*) AS c FROM chaos_writes GROUP BY n");
    await client.end();
    const commits = new Map(rows.map((r) => [r.n, Number(r.c)]));
    let once = 0;
    let twice = 0;
    for (let n = 0; n < o.tasks; n++) {
      const c = commits.get(n) ?? 0;
      if (c === 1) once++;
      else if (c > 1) twice++;
    }
    return {
      drained: figure(drained ? 1 : 0, "bool", "= 1"),
      down_s: figure(o["down-s"], "s"),
      committed_once: figure(once, "tasks", `= ${o.tasks}`),
      committed_more_than_once: figure(twice, "tasks", "= 0"),
      dead_letters_during_outage: figure(doomedDuringOutage, "tasks", `= ${o.doomed}`),
      dead_letters_in_taskdb: figure([...doomed.keys()].filter((id) => inDb.has(id)).length, "tasks", `= ${o.doomed}`),
      worker_crashes: figure(stack.pool.crashes, "processes", "= 0"),
      log_lines_during_outage_per_worker: figure(outageLines / Math.max(1, o.workers), "lines"),
      ...accountingFigures(a),
    };
  } finally {
    await stack.close();
  }
}
