import { Config } from "../../config/token.ts";
import { JobParametersDB } from "../../db/os/job-parameters-db.ts";
import { JobDB } from "../../db/sql/job-db.ts";
import { JobLoggingDB } from "../../db/sql/job-logging-db.ts";
import { TaskQueueDB } from "../../db/sql/task-queue-db.ts";

/** What `setJobStatuses` needs: the job routes and the job tasks all declare at least these. */
export const JOB_STATUS_DEPS = {
  config: Config,
  jobDB: JobDB,
  jobLoggingDB: JobLoggingDB,
  taskQueueDB: TaskQueueDB,
  jobParametersDB: JobParametersDB,
} as const;
