// How freshly submitted jobs are handed to the optimiser: by task id, so whatever is registered
// under `jobs:OptimizeJobsTask` (core's task or an extension's replacement) optimises them.
// The router and `dev` submit these through the engine's producer; core's `optimizeJobs()`
// (tasks/jobs/optimize-jobs.ts) batches the same way.

/** The id the optimiser task is registered under. */
export const OPTIMIZE_JOBS_TASK_ID = "jobs:OptimizeJobsTask";

/** Jobs per optimiser task: a bulk submission becomes a few tasks, each one short transaction. */
export const MAX_JOBS_PER_OPTIMIZER_TASK = 100;

/** The optimiser submissions for some jobs (deduplicated, at most MAX_JOBS_PER_OPTIMIZER_TASK each). */
export function optimisationRequests(jobIds: readonly number[]): { task: string; args: { jobIds: number[] } }[] {
  const ids = [...new Set(jobIds)];
  const out: { task: string; args: { jobIds: number[] } }[] = [];
  for (let i = 0; i < ids.length; i += MAX_JOBS_PER_OPTIMIZER_TASK) {
    out.push({ task: OPTIMIZE_JOBS_TASK_ID, args: { jobIds: ids.slice(i, i + MAX_JOBS_PER_OPTIMIZER_TASK) } });
  }
  return out;
}
