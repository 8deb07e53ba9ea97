import { Config } from "../../src/config/token.ts";
import { JobParametersDB } from "../../src/db/os/job-parameters-db.ts";
import { JobDB } from "../../src/db/sql/job-db.ts";
import { JobLoggingDB } from "../../src/db/sql/job-logging-db.ts";
import { TaskQueueDB } from "../../src/db/sql/task-queue-db.ts";

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
