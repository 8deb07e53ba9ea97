// `diracx-tasks/tasks`: core's domain tasks, for routers (`optimizeJobs(ids)` after committing
// submitted jobs) and for extensions that subclass or call them. These modules import
// diracx-tasks only through its public entries, as an extension does.
export {
  optimizeJobs,
  runJobOptimization,
  OptimizeJobsTask,
  OptimizerMinorStatus,
  MAX_JOBS_PER_OPTIMIZER_TASK,
  type OptimizationResult,
  type OptimizerDeps,
} from "./jobs/optimize-jobs.ts";
export { DummyJobExecutorTask, DummyJobExecutorMonitorTask, DummyJobExecutorSettings, MONITOR_BATCH } from "./jobs/dummy-executor.ts";
export { StalledJobsTask, StalledJobsSettings, detectStalledJobs, STALLED_TOO_LONG, type StalledJobsResult } from "./jobs/stalled-jobs.ts";
export { SweepUnoptimisedJobsTask, JobSweepSettings, findLeftBehindJobs, AWAITING_OPTIMISATION, type JobSweepResult } from "./jobs/sweep-unoptimised-jobs.ts";
export { CleanDeletedJobsTask, JobCleaningSettings, removeOldDeletedJobs } from "./jobs/clean-deleted-jobs.ts";
export { CleanTaskQueuesTask, cleanTaskQueues, type TaskQueueCleanupResult } from "./jobs/clean-task-queues.ts";
export { resetInFlightJobs, findInFlightJobs, type InFlightJobs, type ResetInFlightJobsOptions } from "./jobs/reset-in-flight-jobs.ts";
export { CleanSandboxStoreTask, cleanSandboxes, type CleanSandboxesOptions, type CleanSandboxesResult } from "./sandbox/clean-sandbox-store.ts";
export { JOB_STATUS_DEPS, SOURCES } from "./jobs/deps.ts";
