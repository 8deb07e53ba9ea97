// Rescheduling (DiracX `reschedule_jobs`): a job goes back to Received to be optimised again,
// its RescheduleCounter counted against the VO's MaxRescheduling; past it, the job is Failed.
import { operationsFor, type DiracxConfig } from "../../config/schema.ts";
import type { JobDB } from "../../db/sql/job-db.ts";
import { setJobStatuses, type JobStatusDeps, type SetJobStatusesResult, type TimedJobStatusUpdate } from "./set-job-statuses.ts";
import { JobMinorStatus, JobStatus } from "./status.ts";

export const RESCHEDULE_SOURCE = "JobManager";

export interface RescheduleDeps extends JobStatusDeps {
  config: DiracxConfig;
  jobDB: JobStatusDeps["jobDB"] & Pick<JobDB, "search">;
}

export interface RescheduleResult extends SetJobStatusesResult {
  /** Jobs now Received again, to be optimised. */
  rescheduled: number[];
}

export async function rescheduleJobs(jobIds: readonly number[], deps: RescheduleDeps, opts: { resetJobs?: boolean; now?: Date } = {}): Promise<RescheduleResult> {
  const now = opts.now ?? new Date();
  const ids = [...new Set(jobIds)];
  const { rows } = await deps.jobDB.search({ parameters: ["JobID", "VO", "RescheduleCounter"], search: [{ parameter: "JobID", operator: "in", values: ids }] });
  const changes: Record<number, TimedJobStatusUpdate[]> = {};
  const extra: Record<number, { RescheduleCounter: number; RescheduleTime: Date }> = {};
  const rescheduled: number[] = [];
  for (const row of rows) {
    const id = row.JobID!;
    const counter = opts.resetJobs ? 0 : Number(row.RescheduleCounter ?? 0) + 1;
    const max = operationsFor(deps.config, row.VO ?? "").Services.JobScheduling.MaxRescheduling;
    if (counter > max) {
      changes[id] = [{ time: now, status: JobStatus.Failed, minorStatus: JobMinorStatus.MaxRescheduling, source: RESCHEDULE_SOURCE }];
      continue;
    }
    extra[id] = { RescheduleCounter: counter, RescheduleTime: now };
    // Rescheduled, then Received a millisecond later: the state machine allows Received only from Rescheduled.
    changes[id] = [
      { time: now, status: JobStatus.Rescheduled, minorStatus: JobMinorStatus.Rescheduled, source: RESCHEDULE_SOURCE },
      { time: new Date(now.getTime() + 1), status: JobStatus.Received, minorStatus: JobMinorStatus.Rescheduled, source: RESCHEDULE_SOURCE },
    ];
    rescheduled.push(id);
  }
  const res = await setJobStatuses(changes, deps, { additionalAttributes: extra, now });
  for (const id of ids) if (!rows.some((r) => r.JobID === id)) res.failed[id] = { detail: "Not found" };
  return { ...res, rescheduled: rescheduled.filter((id) => res.success[id]?.Status === JobStatus.Received) };
}
