// Jobs put straight onto a queue by another producer (a Python router, a bug, someone with Redis
// access), bypassing the producer's checks: arguments that do not match the schema, unknown
// fields, a `meta` of the wrong shape, data that is not JSON, a 10 MiB payload, an unknown task name. None may run
// its task body with what it carries, none may fail unseen, and the worker must keep running.
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { queueNameFor } from "../../src/engine/priorities.ts";
import { BULL_PREFIX } from "../../src/redis-keys.ts";
import { account, figure, progress, Stack, until, type Figures } from "../_support.ts";
import { LEDGER } from "../app/tasks.ts";

export const defaults = {
  /** Copies of each kind of malformed job. */
  copies: 2,
  /** Good tasks submitted after them: all must complete. */
  after: 50,
  workers: 1,
  "job-lock-ms": 5000,
  /** How long injected jobs get to fail (or complete) before the unsettled are counted. */
  "settle-s": 60,
  "timeout-s": 600,
};
export type Options = typeof defaults;

export const description = "malformed jobs injected straight onto a queue (bad args, unknown fields, bad meta, non-JSON, 10 MiB, unknown task)";

const KINDS = ["bad-args", "unknown-fields", "bad-meta", "non-json", "oversized", "unknown-task"] as const;
type Kind = (typeof KINDS)[number];

export async function run(o: Options): Promise<Figures> {
  const stack = await Stack.start({ workers: o.workers, concurrency: 2, jobLockMs: o["job-lock-ms"] });
  const connection = new Redis(stack.broker.url, { maxRetriesPerRequest: null });
  const raw = new Queue(queueNameFor("small"), { connection, prefix: BULL_PREFIX });
  try {
    await stack.workersOnline(o.workers);
    // A well-formed job's data, as the producer writes it, is the template the bad ones bend.
    const [templateId] = [...(await stack.submitDelayed("chaos:Work", [{ n: 1_000_000, ms: 1 }], 3_600_000)).keys()];
    const template = (await raw.getJob(templateId!))!;
    // A fresh task's data carries no meta (job-data.ts: defaults are filled in on read).
    const meta = template.data.meta as Record<string, unknown> | undefined;
    await template.remove();

    const injected = new Map<string, { kind: Kind; n: number }>();
    let n = 0;
    for (let copy = 0; copy < o.copies; copy++) {
      for (const kind of KINDS) {
        const mark = n++;
        const args: Record<string, unknown> = { n: mark, ms: 1 };
        let name = "chaos:Work";
        let data: unknown = { args, meta };
        if (kind === "bad-args") data = { args: { n: String(mark), ms: { $where: "1" } }, meta };
        if (kind === "unknown-fields") data = { args: { ...args, extra: { $where: "1" } }, meta };
        if (kind === "bad-meta") data = { args, meta: { ...meta, deferrals: "many", history: "none" } };
        if (kind === "oversized") data = { args: { ...args, padding: "x".repeat(10 * 1024 * 1024) }, meta };
        if (kind === "unknown-task") name = "chaos:NoSuchTask";
        // Non-JSON: written as a delayed job, its data field overwritten before it is due.
        const job = await raw.add(name, data, kind === "non-json" ? { delay: 1_000 } : {});
        if (kind === "non-json") await connection.hset(`${BULL_PREFIX}:${queueNameFor("small")}:${job.id}`, "data", "{not json");
        injected.set(job.id!, { kind, n: mark });
      }
    }
    progress(`${injected.size} malformed jobs injected`);
    const settled = async (id: string): Promise<boolean> => stack.pool.failures.has(id) || ["failed", "completed"].includes(await raw.getJobState(id));
    const after = await stack.submit("chaos:Work", Array.from({ length: o.after }, (_, i) => ({ n: 10_000 + i, ms: 5 })));
    await until(`the ${o.after} good tasks after them`, async () => (await stack.ledger.smismember(LEDGER.done, [...after.values()].map(String))).every(Boolean), o["timeout-s"] * 1000).catch(() => {});
    // A job that never settles (e.g. stuck active) is reported below, not waited for forever.
    await until("every injected job settled", async () => (await Promise.all([...injected.keys()].map(settled))).every(Boolean), o["settle-s"] * 1000).catch(() => {});
    const unsettled = (await Promise.all([...injected.keys()].map(async (id) => ((await settled(id)) ? 0 : 1)))).reduce<number>((x, y) => x + y, 0);
    const a = await account(stack, after, { awaitDeadLetters: false });
    const inDb = await stack.awaitDeadLetters([...injected.keys()], 20_000);
    const starts = await stack.ledger.hgetall(LEDGER.starts);
    const figures: Figures = {};
    let ran = 0;
    let silent = 0;
    let deadLettered = 0;
    for (const kind of KINDS) {
      const ids = [...injected].filter(([, v]) => v.kind === kind);
      const kindRan = ids.filter(([, v]) => starts[String(v.n)]).length;
      const kindLogged = ids.filter(([id]) => stack.pool.failures.has(id)).length;
      const kindDead = ids.filter(([id]) => inDb.has(id)).length;
      ran += kindRan;
      deadLettered += kindDead;
      silent += ids.filter(([id]) => !stack.pool.failures.has(id) || !inDb.has(id)).length;
      figures[`${kind}.body_ran`] = figure(kindRan, "jobs", "= 0");
      figures[`${kind}.logged`] = figure(kindLogged, "jobs", `= ${ids.length}`);
      figures[`${kind}.dead_lettered`] = figure(kindDead, "jobs", `= ${ids.length}`);
    }
    const alive = [...stack.pool.procs].filter((p) => p.exitCode === null).length;
    return {
      injected: figure(injected.size, "jobs"),
      unsettled: figure(unsettled, "jobs", "= 0 (neither failed nor completed)"),
      body_ran: figure(ran, "jobs", "= 0"),
      dead_lettered: figure(deadLettered, "jobs", `= ${injected.size}`),
      silent_failures: figure(silent, "jobs", "= 0"),
      ...figures,
      after_lost: figure(a.lost, "tasks", "= 0"),
      workers_alive: figure(alive, "processes", `= ${o.workers}`),
      worker_restarts: figure(stack.pool.kills, "processes", "= 0"),
    };
  } finally {
    await raw.close();
    connection.disconnect();
    await stack.close();
  }
}
