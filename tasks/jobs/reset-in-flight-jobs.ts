// Core's `diracx.broker_startup` hook. Redis holds nothing durable: after a wipe, the tasks that
// would have moved some jobs on are gone, and those jobs would wait forever. They are found by
// their state in JobDB and their tasks submitted again (both tasks are idempotent).
import { type BrokerStartupContext, JobDB, JobMinorStatus, JobStatus, TasksSettings, withProducer } from "diracx-tasks";
import { type DbRegistry, missingDependencies, withUnitOfWork } from "diracx-tasks/db";
import { getRegistry, Producer, type Registry, TaskRegistry } from "diracx-tasks/ops";
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
      const out: number[] = [];
      for (let after = 0; ; ) {
        const page = await jobDB.jobIdsInStatus(statuses, { ...(minorStatus ? { minorStatus } : {}), after, limit: PAGE });
        out.push(...page);
        if (page.length < PAGE) return out;
        after = page.at(-1)!;
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
  const producer = opts.producer ?? new Producer({ connection: ctx.redis, registry: await TaskRegistry.load(registry), maxPayloadBytes: TasksSettings.fromEnv(env).maxPayloadBytes });
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
