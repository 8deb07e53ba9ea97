// The job statuses, minor statuses and sources the logic layer writes: one home for
// every literal a job's status history can contain.

/** DIRAC job statuses (plus `Scouting`, which upstream DiracX lacks). */
export const JobStatus = {
  Submitting: "Submitting",
  Received: "Received",
  Checking: "Checking",
  Scouting: "Scouting",
  Staging: "Staging",
  Waiting: "Waiting",
  Matched: "Matched",
  Rescheduled: "Rescheduled",
  Running: "Running",
  Stalled: "Stalled",
  Completing: "Completing",
  Completed: "Completed",
  Done: "Done",
  Failed: "Failed",
  Killed: "Killed",
  Deleted: "Deleted",
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

export const ALL_JOB_STATUSES: readonly JobStatus[] = Object.values(JobStatus);

export function isJobStatus(s: string): s is JobStatus {
  return Object.hasOwn(JobStatus, s);
}

/** States a job normally ends in (it may still be deleted or, if failed, rescheduled). */
export const FINAL_STATES: ReadonlySet<JobStatus> = new Set([JobStatus.Done, JobStatus.Completed, JobStatus.Failed, JobStatus.Killed]);
/** The only state nothing follows. */
export const REALLY_FINAL_STATES: ReadonlySet<JobStatus> = new Set([JobStatus.Deleted]);
/** Reaching one of these removes the job from the task queues and sends it a Kill command. */
export const KILL_STATES: ReadonlySet<JobStatus> = new Set([JobStatus.Killed, JobStatus.Deleted]);

/** Minor statuses written by the core. */
export const JobMinorStatus = {
  JobAccepted: "Job accepted",
  BulkTransactionConfirmation: "Bulk transaction confirmation",
  MaxRescheduling: "Maximum of reschedulings reached",
  Rescheduled: "Job Rescheduled",
  DummyExecutor: "DummyExecutor",
  Stalled: "Job stalled: pilot not running",
} as const;

/** Logging-record value meaning "unchanged from the previous record". */
export const IDEM = "idem";
/** Source recorded when the caller gives none. */
export const UNKNOWN_SOURCE = "Unknown";
/** Appended to a logging record's source when the state machine refused its status. */
export const STATE_MACHINE_REFUSED_MARK = "(SM)";
/** Source of status changes made by heartbeats. */
export const HEARTBEAT_SOURCE = "Heartbeat";
/** The job command sent to jobs that are killed or deleted. */
export const KILL_COMMAND = "Kill";

/** Does a status update from this source prove the job is alive (sets HeartBeatTime)? */
export function isHeartbeatSource(source: string): boolean {
  return source.startsWith("Job") || source === HEARTBEAT_SOURCE;
}
