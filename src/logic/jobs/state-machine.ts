import { DiracxError } from "../../errors.ts";
import { JobStatus, isJobStatus } from "./status.ts";

/** A status that is not a DIRAC job status. */
export class UnknownJobStatusError extends DiracxError {}

const S = JobStatus;

/**
 * Allowed transitions (DIRAC's JobsStateMachine, with Scouting). A state missing
 * from this table (Deleted) accepts any transition; otherwise a refused transition
 * leaves the job where it is.
 */
export const JOB_TRANSITIONS: Readonly<Partial<Record<JobStatus, readonly JobStatus[]>>> = {
  [S.Submitting]: [S.Received, S.Checking, S.Deleted, S.Killed],
  [S.Received]: [S.Scouting, S.Checking, S.Staging, S.Waiting, S.Failed, S.Deleted, S.Killed],
  [S.Checking]: [S.Scouting, S.Staging, S.Waiting, S.Rescheduled, S.Failed, S.Deleted, S.Killed],
  [S.Scouting]: [S.Checking, S.Failed, S.Stalled, S.Killed],
  [S.Staging]: [S.Checking, S.Waiting, S.Failed, S.Killed],
  [S.Waiting]: [S.Matched, S.Rescheduled, S.Deleted, S.Killed],
  [S.Matched]: [S.Running, S.Failed, S.Rescheduled, S.Killed],
  [S.Rescheduled]: [S.Waiting, S.Received, S.Deleted, S.Failed, S.Killed],
  [S.Running]: [S.Stalled, S.Done, S.Failed, S.Rescheduled, S.Completing, S.Killed, S.Received],
  [S.Stalled]: [S.Running, S.Failed, S.Killed],
  [S.Completing]: [S.Done, S.Failed, S.Completed, S.Stalled, S.Killed],
  [S.Completed]: [S.Done, S.Failed],
  [S.Done]: [S.Deleted],
  [S.Failed]: [S.Rescheduled, S.Deleted],
  [S.Killed]: [S.Deleted],
};

/**
 * The state a job in `current` ends up in when `candidate` is requested: the candidate
 * if the transition is allowed, else `current`. Unknown statuses are refused.
 */
export function nextState(current: string, candidate: string): JobStatus {
  if (!isJobStatus(candidate)) throw new UnknownJobStatusError(`unknown job status '${candidate}' requested`);
  if (!isJobStatus(current)) throw new UnknownJobStatusError(`job is in unknown status '${current}'`);
  const allowed = JOB_TRANSITIONS[current];
  if (allowed === undefined) return candidate;
  return allowed.includes(candidate) ? candidate : current;
}
