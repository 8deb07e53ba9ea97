import { Config, JobDB, JobLoggingDB, JobParametersDB, TaskQueueDB } from "diracx-tasks";

/** What `setJobStatuses` needs: the job tasks all declare at least these. */
export const JOB_STATUS_DEPS = {
  config: Config,
  jobDB: JobDB,
  jobLoggingDB: JobLoggingDB,
  taskQueueDB: TaskQueueDB,
  jobParametersDB: JobParametersDB,
} as const;

/** `StatusSource` of the logging records each job task writes. */
export const SOURCES = {
  optimizer: "JobOptimizer",
  dummyExecutor: "DummyJobExecutor",
  stalledJobs: "StalledJobAgent",
  brokerStartup: "BrokerStartup",
} as const;
