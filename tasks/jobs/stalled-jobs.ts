// Stalled-job detection from heartbeats. DiracX itself has none (only a heartbeat bringing a
// Stalled job back to Running); this is DIRAC's StalledJobAgent rule set, on the job logic layer.
import { z } from "zod";
import {
  type ContextOf,
  definePeriodicTask,
  defineSettings,
  depsOf,
  IntervalSchedule,
  type JobDB,
  JobMinorStatus,
  JobStatus,
  type JobStatusDeps,
  setJobStatuses,
} from "diracx-tasks";
import { JOB_STATUS_DEPS, SOURCES } from "./deps.ts";

export class StalledJobsSettings extends defineSettings(
  "DIRACX_TASKS_STALLED_JOBS_",
  z.object({
    /** A Running job silent (no heartbeat) for this long becomes Stalled. */
    stalledAfterSeconds: z.number().int().positive().default(2 * 3600),
    /** A job Stalled for this long becomes Failed. */
    failAfterSeconds: z.number().int().positive().default(24 * 3600),
    /** Jobs changed per transaction. */
    batchSize: z.number().int().positive().default(1000),
  }),
) {}

export const STALLED_TOO_LONG = "Stalled for too long";

/** Jobs in `status` whose reference time is before `cutoff`, oldest first. */
async function jobsOlderThan(jobDB: JobDB, status: JobStatus, reference: "heartbeat" | "lastUpdate", cutoff: Date, limit: number): Promise<number[]> {
  return (await jobDB.jobsInStatusSince(status, reference, cutoff, limit)).map((r) => r.JobID);
}

export interface StalledJobsResult {
  stalled: number[];
  failed: number[];
}

/** Running → Stalled after `stalledAfterSeconds` without heartbeat; Stalled → Failed after `failAfterSeconds`. */
export async function detectStalledJobs(
  deps: JobStatusDeps & { jobDB: JobDB },
  settings: { stalledAfterSeconds: number; failAfterSeconds: number; batchSize: number },
  now: Date = new Date(),
): Promise<StalledJobsResult> {
  const stalled = await jobsOlderThan(deps.jobDB, JobStatus.Running, "heartbeat", new Date(now.getTime() - settings.stalledAfterSeconds * 1000), settings.batchSize);
  const failed = await jobsOlderThan(deps.jobDB, JobStatus.Stalled, "lastUpdate", new Date(now.getTime() - settings.failAfterSeconds * 1000), settings.batchSize);
  const update = (status: JobStatus, minorStatus: string) => [{ time: now, status, minorStatus, source: SOURCES.stalledJobs }];
  const changes = {
    ...Object.fromEntries(stalled.map((id) => [id, update(JobStatus.Stalled, JobMinorStatus.Stalled)])),
    ...Object.fromEntries(failed.map((id) => [id, update(JobStatus.Failed, STALLED_TOO_LONG)])),
  };
  if (stalled.length + failed.length > 0) await setJobStatuses(changes, deps, { now });
  return { stalled, failed };
}

/**
 * Every 10 minutes: marks silent Running jobs Stalled and long-Stalled jobs Failed, one batch
 * per run (a full batch re-submits the task at once for the next one).
 */
export class StalledJobsTask extends definePeriodicTask({
  dependencies: { ...JOB_STATUS_DEPS, settings: StalledJobsSettings },
  priority: "background",
  size: "small",
  schedule: new IntervalSchedule(600),
}) {
  async execute(ctx: ContextOf<typeof StalledJobsTask>): Promise<StalledJobsResult> {
    const deps = depsOf(StalledJobsTask, ctx);
    const res = await detectStalledJobs(deps, deps.settings);
    if (res.stalled.length + res.failed.length > 0) ctx.logger.info({ stalled: res.stalled.length, failed: res.failed.length }, "stalled jobs handled");
    if (res.stalled.length === deps.settings.batchSize || res.failed.length === deps.settings.batchSize) {
      // Runs once this attempt has committed and released its mutex.
      await ctx.schedule(new StalledJobsTask({}));
    }
    return res;
  }
}
