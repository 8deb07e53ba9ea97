// No job left behind. A job moves on from `Received`/`Checking` only through an optimisation task;
// if every attempt of that task fails (JobDB unreachable for longer than its retries) or the
// task is lost (a wiped broker, a worker dying past the stalled limit), nothing else would ever
// look at the job again. This sweep finds jobs sitting there longer than a configured age and
// submits their optimisation again — so a database outage delays jobs but never strands them.
// Optimisation is idempotent (a mutex per job; jobs no longer awaiting it are skipped), so a
// job whose first task is merely slow is not harmed by a second one.
import { z } from "zod";
import {
  type ContextOf,
  definePeriodicTask,
  defineSettings,
  depsOf,
  IntervalSchedule,
  JobDB,
  JobStatus,
} from "diracx-tasks";
import { MAX_JOBS_PER_OPTIMIZER_TASK, OptimizeJobsTask } from "./optimize-jobs.ts";

export class JobSweepSettings extends defineSettings(
  "DIRACX_TASKS_JOB_SWEEP_",
  z.object({
    /**
     * A job `Received`/`Checking` without a status change for this long has lost its
     * optimisation task. Longer than the optimiser's own retries (5 + 10 + 20 + 40 + 80 s), so
     * the sweep steps in only once the task has given up or vanished.
     */
    ageSeconds: z.number().positive().default(900),
    /** Jobs re-submitted per run and status; a full batch re-submits the sweep at once. */
    batchSize: z.number().int().positive().default(1000),
  }),
) {}

/** The statuses only an optimisation task moves a job out of. */
export const AWAITING_OPTIMISATION = [JobStatus.Received, JobStatus.Checking] as const;

export interface JobSweepResult {
  /** Jobs whose optimisation was submitted again. */
  resubmitted: number[];
  /** Optimisation tasks submitted (at most MAX_JOBS_PER_OPTIMIZER_TASK jobs each). */
  tasks: number;
}

/** The jobs left awaiting optimisation since before `cutoff`, oldest first, per status. */
export async function findLeftBehindJobs(jobDB: JobDB, cutoff: Date, batchSize: number): Promise<number[]> {
  const ids: number[] = [];
  for (const status of AWAITING_OPTIMISATION) {
    ids.push(...(await jobDB.jobsInStatusSince(status, "lastUpdate", cutoff, batchSize)).map((r) => r.JobID));
  }
  return [...new Set(ids)];
}

/**
 * Every 300 s (the tasks configuration's `schedule` changes it): re-submits optimisation for
 * jobs left `Received`/`Checking` for longer than `DIRACX_TASKS_JOB_SWEEP_AGE_SECONDS`.
 */
export class SweepUnoptimisedJobsTask extends definePeriodicTask({
  dependencies: { jobDB: JobDB, settings: JobSweepSettings },
  priority: "background",
  size: "small",
  schedule: new IntervalSchedule(300),
}) {
  async execute(ctx: ContextOf<typeof SweepUnoptimisedJobsTask>): Promise<JobSweepResult> {
    const { jobDB, settings } = depsOf(SweepUnoptimisedJobsTask, ctx);
    const ids = await findLeftBehindJobs(jobDB, new Date(Date.now() - settings.ageSeconds * 1000), settings.batchSize);
    let tasks = 0;
    for (let i = 0; i < ids.length; i += MAX_JOBS_PER_OPTIMIZER_TASK) {
      await ctx.schedule(new OptimizeJobsTask({ jobIds: ids.slice(i, i + MAX_JOBS_PER_OPTIMIZER_TASK) }));
      tasks++;
    }
    if (ids.length) ctx.logger.warn({ jobs: ids.length, ageSeconds: settings.ageSeconds }, "jobs left awaiting optimisation; optimisation submitted again");
    // A full batch: more may be waiting. Runs once this attempt has released its mutex.
    if (ids.length >= settings.batchSize) await ctx.schedule(new SweepUnoptimisedJobsTask({}));
    return { resubmitted: ids, tasks };
  }
}
