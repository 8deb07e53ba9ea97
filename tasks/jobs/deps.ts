// What `setJobStatuses` needs (the job routes declare the same set): one home, src/logic/jobs/status-deps.ts.
export { JOB_STATUS_DEPS } from "diracx-tasks";

/** `StatusSource` of the logging records each job task writes. */
export const SOURCES = {
  optimizer: "JobOptimizer",
  dummyExecutor: "DummyJobExecutor",
  stalledJobs: "StalledJobAgent",
  brokerStartup: "BrokerStartup",
} as const;
