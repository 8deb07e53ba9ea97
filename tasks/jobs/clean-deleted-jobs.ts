// Removing jobs deleted long enough ago from every database that knows them. Upstream has the
// logic (`remove_jobs`) but nothing calls it; deleted jobs' rows stayed forever.
import { z } from "zod";
import {
  Config,
  type ContextOf,
  definePeriodicTask,
  defineSettings,
  depsOf,
  IntervalSchedule,
  JobDB,
  JobLoggingDB,
  JobParametersDB,
  JobStatus,
  removeJobsFromTaskQueue,
  SandboxMetadataDB,
  type TaskDeps,
  TaskQueueDB,
} from "diracx-tasks";

export class JobCleaningSettings extends defineSettings(
  "DIRACX_TASKS_JOB_CLEANING_",
  z.object({
    /** Deleted jobs are removed this many days after their last status change. */
    deletedRetentionDays: z.number().nonnegative().default(7),
    /** Jobs removed per run (one transaction per DB). */
    batchSize: z.number().int().positive().default(500),
  }),
) {}

/**
 * Hourly: removes one batch of old Deleted jobs from SandboxMetadataDB (sandboxes unassigned, so
 * the sandbox cleaner can reclaim them), TaskQueueDB, JobLoggingDB, the job parameters DB and
 * JobDB. A full batch re-submits the task for the next one.
 *
 * The dependencies are listed in commit order, JobDB last: without cross-DB atomicity a failed
 * commit leaves the job Deleted in JobDB, and the next run redoes the (idempotent) rest.
 */
export class CleanDeletedJobsTask extends definePeriodicTask({
  dependencies: {
    sandboxMetadataDB: SandboxMetadataDB,
    taskQueueDB: TaskQueueDB,
    jobLoggingDB: JobLoggingDB,
    jobParametersDB: JobParametersDB,
    config: Config,
    settings: JobCleaningSettings,
    jobDB: JobDB,
  },
  priority: "background",
  size: "medium",
  schedule: new IntervalSchedule(3600),
}) {
  async execute(ctx: ContextOf<typeof CleanDeletedJobsTask>): Promise<number> {
    const deps = depsOf(CleanDeletedJobsTask, ctx);
    const removed = await removeOldDeletedJobs(deps);
    if (removed.length) ctx.logger.info({ jobs: removed.length }, "deleted jobs removed from every DB");
    if (removed.length === deps.settings.batchSize) await ctx.schedule(new CleanDeletedJobsTask({}));
    return removed.length;
  }
}

/** One batch: returns the ids removed. */
export async function removeOldDeletedJobs(deps: TaskDeps<typeof CleanDeletedJobsTask>, now: Date = new Date()): Promise<number[]> {
  const cutoff = new Date(now.getTime() - deps.settings.deletedRetentionDays * 86_400_000);
  const rows = await deps.jobDB.jobsInStatusSince(JobStatus.Deleted, "lastUpdate", cutoff, deps.settings.batchSize);
  const ids = rows.map((r) => r.JobID);
  if (ids.length === 0) return [];
  await deps.sandboxMetadataDB.unassignSandboxesToJobs(ids);
  await removeJobsFromTaskQueue(ids, deps.config, deps.taskQueueDB);
  await deps.jobLoggingDB.deleteRecords(ids);
  await deps.jobParametersDB.deleteJobs(rows.filter((r) => r.VO).map((r) => ({ vo: r.VO!, jobId: r.JobID })));
  await deps.jobDB.deleteJobs(ids);
  return ids;
}
