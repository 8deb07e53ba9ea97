// Core's `diracx.broker_startup` hook. Redis holds nothing durable: after a wipe, the tasks that
// would have moved some jobs on are gone, and those jobs would wait forever. They are found by
// their state in JobDB and their tasks submitted again (both tasks are idempotent).
import { Producer } from "../../src/engine/producer.ts";
import { withProducer } from "../../src/engine/context.ts";
import { TaskRegistry } from "../../src/engine/task-registry.ts";
import { JobDB } from "../../src/db/sql/job-db.ts";
import { missingDependencies, withUnitOfWork, type DbRegistry } from "../../src/db/unit-of-work.ts";
import { getRegistry, type Registry } from "../../src/registry/index.ts";
import { JobMinorStatus, JobStatus } from "../../src/logic/jobs/status.ts";
import type { BrokerStartupContext } from "../../src/scheduler/broker-lifecycle.ts";
import { DummyJobExecutorSettings, DummyJobExecutorTask } from "./dummy-executor.ts";
import { optimizeJobs } from "./optimize-jobs.ts";

const PAGE = 10_000;

export interface InFlightJobs {
  /** Submitted jobs whose optimisation never finished (Received, Checking). */
  toOptimize: number[];
  /** Jobs the dummy executor had taken but not finished (only when it is enabled). */
  toExecute: number[];
}

/** The jobs whose next step only a (lost) task would have taken. */
export async function findInFlightJobs(registry: DbRegistry, env: NodeJS.ProcessEnv = process.env): Promise<InFlightJobs> {
  const dummyEnabled = DummyJobExecutorSettings.fromEnv(env).enabled;
  return withUnitOfWork({ jobDB: JobDB }, { registry, env }, async ({ jobDB }) => {
    const select = async (statuses: string[], minorStatus?: string): Promise<number[]> => {
      let q = jobDB.db.selectFrom("Jobs").select("JobID").where("Status", "in", statuses);
      if (minorStatus) q = q.where("MinorStatus", "=", minorStatus);
      const out: number[] = [];
      for (let cursor = 0; ; ) {
        const rows = await q.where("JobID", ">", cursor).orderBy("JobID").limit(PAGE).execute();
        out.push(...rows.map((r) => r.JobID));
        if (rows.length < PAGE) return out;
        cursor = rows.at(-1)!.JobID;
      }
    };
    return {
      toOptimize: await select([JobStatus.Received, JobStatus.Checking]),
      toExecute: dummyEnabled ? await select([JobStatus.Matched, JobStatus.Running], JobMinorStatus.DummyExecutor) : [],
    };
  });
}

export interface ResetInFlightJobsOptions {
  registry?: Registry;
  /** Where the tasks go (default: a producer on the hook's Redis connection). */
  producer?: Producer;
  env?: NodeJS.ProcessEnv;
}

/** Registered as `diracx.broker_startup` → `reset_in_flight_jobs`. */
export async function resetInFlightJobs(ctx: BrokerStartupContext, opts: ResetInFlightJobsOptions = {}): Promise<InFlightJobs> {
  const env = opts.env ?? process.env;
  const registry = opts.registry ?? (await getRegistry());
  const missing = missingDependencies({ jobDB: JobDB }, registry, env);
  if (missing.length) {
    ctx.logger.warn({ missing }, "reset_in_flight_jobs: JobDB is not configured here; jobs left in flight are not re-submitted");
    return { toOptimize: [], toExecute: [] };
  }
  const found = await findInFlightJobs(registry, env);
  if (found.toOptimize.length + found.toExecute.length === 0) {
    ctx.logger.info("reset_in_flight_jobs: no job was left in flight");
    return found;
  }
  const producer = opts.producer ?? new Producer({ connection: ctx.redis, registry: await TaskRegistry.load(registry) });
  try {
    await withProducer(producer, async () => {
      await optimizeJobs(found.toOptimize);
      for (const jobId of found.toExecute) await new DummyJobExecutorTask({ jobId }).schedule();
    });
  } finally {
    if (!opts.producer) await producer.close();
  }
  ctx.logger.warn({ optimise: found.toOptimize.length, execute: found.toExecute.length }, "reset_in_flight_jobs: tasks re-submitted for jobs left in flight");
  return found;
}
