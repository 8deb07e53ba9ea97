// Applying status updates to jobs: the shared logic of routers and tasks. Everything is
// set-based — one search, one timestamp query, bulk attribute/logging/command writes —
// so a call for ten thousand jobs costs a handful of statements, not ten thousand.
import { DiracxError } from "../../errors.ts";
import type { JobAttributeUpdate, JobDB } from "../../db/sql/job-db.ts";
import { statusTimeOrder, type JobLoggingDB, type JobLoggingRecord } from "../../db/sql/job-logging-db.ts";
import type { TaskQueueDB } from "../../db/sql/task-queue-db.ts";
import type { JobParametersStore, JobParametersUpsert } from "../../db/os/job-parameters.ts";
import { removeJobsFromTaskQueue, type SharesConfig } from "../task-queues/shares.ts";
import { nextState } from "./state-machine.ts";
import {
  FINAL_STATES,
  IDEM,
  JobStatus,
  KILL_COMMAND,
  KILL_STATES,
  STATE_MACHINE_REFUSED_MARK,
  UNKNOWN_SOURCE,
  isHeartbeatSource,
  isJobStatus,
} from "./status.ts";

/** One status update of one job. Missing fields leave the job's value unchanged. */
export interface JobStatusUpdate {
  status?: string;
  minorStatus?: string;
  applicationStatus?: string;
  source?: string;
}
/** An update at a point in time; a string time must carry its zone (no naive datetimes). */
export type TimedJobStatusUpdate = JobStatusUpdate & { time: Date | string };
/** `{jobId: [updates]}` in any order: they are applied in time order. */
export type StatusChanges = Readonly<Record<number, readonly TimedJobStatusUpdate[]>>;

/** What was written for a job. */
export interface JobStatusOutcome {
  Status?: string;
  MinorStatus?: string;
  ApplicationStatus?: string;
  HeartBeatTime?: Date;
  StartExecTime?: Date;
  EndExecTime?: Date;
  LastUpdateTime?: Date;
}
export interface SetJobStatusesResult {
  success: Record<number, JobStatusOutcome>;
  failed: Record<number, { detail: string }>;
}

/** A status update that cannot be applied as given (bad time, unknown status, bad id). */
export class InvalidStatusUpdateError extends DiracxError {}

export interface JobStatusDeps {
  config: SharesConfig;
  jobDB: Pick<JobDB, "search" | "setJobAttributes" | "setJobCommands">;
  jobLoggingDB: Pick<JobLoggingDB, "getWmsTimeStamps" | "insertRecords">;
  taskQueueDB: Parameters<typeof removeJobsFromTaskQueue>[2];
  jobParametersDB: Pick<JobParametersStore, "bulkUpsert">;
}
export interface SetJobStatusesOptions {
  /** Skip the state machine (administrative corrections). */
  force?: boolean;
  /** Extra columns written for a job whose status changes (e.g. reschedule counters). */
  additionalAttributes?: Readonly<Record<number, JobAttributeUpdate>>;
  /** "now" for LastUpdateTime (tests pin it). */
  now?: Date;
}

export const NOT_FOUND_DETAIL = "Not found";
// Statement sizes stay far below PostgreSQL's 65535 bind parameters.
const SEARCH_CHUNK = 5000;
const UPDATE_CHUNK = 1000;

type NormalisedUpdate = { time: Date; order: number; status?: JobStatus; minorStatus?: string; applicationStatus?: string; source: string };

const ZONED = /(Z|[+-]\d\d:?\d\d)$/i;

function normaliseUpdates(jobId: number, updates: readonly TimedJobStatusUpdate[]): NormalisedUpdate[] {
  const out = updates.map((u): NormalisedUpdate => {
    let time: Date;
    if (u.time instanceof Date) time = u.time;
    else if (typeof u.time === "string" && ZONED.test(u.time.trim())) time = new Date(u.time);
    else throw new InvalidStatusUpdateError(`status update of job ${jobId}: time ${JSON.stringify(u.time)} has no time zone (naive datetimes are refused)`);
    if (Number.isNaN(time.getTime())) throw new InvalidStatusUpdateError(`status update of job ${jobId}: invalid time ${JSON.stringify(u.time)}`);
    if (u.status !== undefined && u.status !== "" && !isJobStatus(u.status)) {
      throw new InvalidStatusUpdateError(`status update of job ${jobId} at ${time.toISOString()}: unknown status '${u.status}'`);
    }
    return {
      time,
      order: statusTimeOrder(time),
      ...(u.status ? { status: u.status as JobStatus } : {}),
      ...(u.minorStatus ? { minorStatus: u.minorStatus } : {}),
      ...(u.applicationStatus ? { applicationStatus: u.applicationStatus } : {}),
      source: u.source || UNKNOWN_SOURCE,
    };
  });
  // Stable: updates at the same instant keep the caller's order.
  return out.sort((a, b) => a.time.getTime() - b.time.getTime());
}

/** The current state of a job that the status logic needs. */
export interface JobStatusState {
  Status: string;
  StartExecTime: Date | null;
  EndExecTime: Date | null;
}

/** What applying one job's updates produces (pure; exported for unit tests). */
export interface JobStatusPlan {
  attributes: JobAttributeUpdate;
  records: JobLoggingRecord[];
  /** The new status, when it differs from the stored one. */
  newStatus?: JobStatus;
  killed: boolean;
}

/**
 * Applies one job's updates. `lastTimes` is `{status: latest StatusTimeOrder}` of its
 * logging records (empty for a job without any: all its updates are then new).
 */
export function planJobStatusChange(
  jobId: number,
  job: JobStatusState,
  lastTimes: Readonly<Record<string, number>>,
  updates: readonly NormalisedUpdate[],
  opts: { force: boolean; now: Date; additionalAttributes?: JobAttributeUpdate },
): JobStatusPlan {
  const attributes: JobAttributeUpdate = {};
  const sources = updates.map((u) => u.source);
  if (updates.length === 0) return { attributes, records: [], killed: false };
  const logged = Object.entries(lastTimes);
  const lastTime = logged.length ? Math.max(...logged.map(([, t]) => t)) : -Infinity;

  // Start/end of execution come from the whole history given, old updates included:
  // a late "Running" still tells when the job started.
  let carried = "";
  let best = -Infinity;
  for (const [status, t] of logged) if (t <= updates[0]!.order && t >= best) [carried, best] = [status, t];
  let start = job.StartExecTime;
  let end = job.EndExecTime;
  for (const u of updates) {
    carried = u.status ?? carried;
    if (!start && carried === JobStatus.Running) start = u.time;
    else if (!end && FINAL_STATES.has(carried as JobStatus)) end = u.time;
  }
  if (start && !job.StartExecTime) attributes.StartExecTime = start;
  if (end && !job.EndExecTime) attributes.EndExecTime = end;

  // Only updates at or after the last logged one can change the current status.
  // A stored Stalled is treated as Running: any sign of life resumes the job.
  let current: JobStatus | string = job.Status === JobStatus.Stalled ? JobStatus.Running : job.Status;
  let status: JobStatus | undefined;
  let minor: string | undefined;
  let application: string | undefined;
  updates.forEach((u, i) => {
    if (u.order < lastTime) return;
    if (u.status) {
      const next = opts.force ? u.status : nextState(current, u.status);
      if (next !== u.status) sources[i] = `${u.source}${STATE_MACHINE_REFUSED_MARK}`;
      current = next;
      status = next;
    }
    minor = u.minorStatus ?? minor;
    application = u.applicationStatus ?? application;
  });

  let newStatus: JobStatus | undefined;
  if (status !== undefined && status !== job.Status) {
    newStatus = status;
    Object.assign(attributes, opts.additionalAttributes ?? {});
    attributes.Status = status;
    attributes.LastUpdateTime = opts.now;
  }
  if (minor) attributes.MinorStatus = minor;
  if (application) attributes.ApplicationStatus = application;

  let heartbeat: Date | undefined;
  for (const u of updates) if (isHeartbeatSource(u.source) && (!heartbeat || u.time > heartbeat)) heartbeat = u.time;
  if (heartbeat) attributes.HeartBeatTime = heartbeat;

  const records = updates.map(
    (u, i): JobLoggingRecord => ({
      jobId,
      status: u.status ?? IDEM,
      minorStatus: u.minorStatus ?? IDEM,
      applicationStatus: u.applicationStatus ?? IDEM,
      date: u.time,
      source: sources[i]!,
    }),
  );
  return { attributes, records, ...(newStatus ? { newStatus } : {}), killed: newStatus !== undefined && KILL_STATES.has(newStatus) };
}

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/**
 * Applies status updates to many jobs (DiracX `set_job_statuses`). Jobs that do not
 * exist are reported in `failed`; the others are updated through the state machine
 * (unless `force`), logged, and — when killed or deleted — removed from their task
 * queues and sent a Kill command. Runs inside the caller's transactions.
 */
export async function setJobStatuses(statusChanges: StatusChanges, deps: JobStatusDeps, options: SetJobStatusesOptions = {}): Promise<SetJobStatusesResult> {
  const now = options.now ?? new Date();
  const force = options.force ?? false;
  const updatesById = new Map<number, NormalisedUpdate[]>();
  for (const [key, updates] of Object.entries(statusChanges)) {
    const id = Number(key);
    if (!Number.isSafeInteger(id) || id <= 0) throw new InvalidStatusUpdateError(`status update for an invalid job id ${JSON.stringify(key)}`);
    updatesById.set(id, normaliseUpdates(id, updates));
  }
  const result: SetJobStatusesResult = { success: {}, failed: {} };
  const ids = [...updatesById.keys()];
  if (ids.length === 0) return result;

  const jobs = new Map<number, JobStatusState & { VO: string | null }>();
  for (const chunk of chunks(ids, SEARCH_CHUNK)) {
    const found = await deps.jobDB.search({
      parameters: ["JobID", "Status", "StartExecTime", "EndExecTime", "VO"],
      search: [{ parameter: "JobID", operator: "in", values: chunk }],
      perPage: chunk.length,
    });
    for (const r of found.rows) {
      jobs.set(Number(r.JobID), { Status: r.Status ?? "", StartExecTime: r.StartExecTime ?? null, EndExecTime: r.EndExecTime ?? null, VO: r.VO ?? null });
    }
  }
  for (const id of ids) if (!jobs.has(id)) result.failed[id] = { detail: NOT_FOUND_DETAIL };
  const foundIds = ids.filter((id) => jobs.has(id));
  if (foundIds.length === 0) return result;

  const timestamps = await deps.jobLoggingDB.getWmsTimeStamps(foundIds);
  const attributeUpdates: Array<[number, JobAttributeUpdate]> = [];
  const records: JobLoggingRecord[] = [];
  const killed: number[] = [];
  const parameterUpdates: JobParametersUpsert[] = [];
  for (const id of foundIds) {
    const job = jobs.get(id)!;
    const plan = planJobStatusChange(id, job, timestamps[id] ?? {}, updatesById.get(id)!, {
      force,
      now,
      ...(options.additionalAttributes?.[id] ? { additionalAttributes: options.additionalAttributes[id] } : {}),
    });
    records.push(...plan.records);
    if (Object.keys(plan.attributes).length) attributeUpdates.push([id, plan.attributes]);
    if (plan.killed) killed.push(id);
    if (plan.newStatus && job.VO) parameterUpdates.push({ vo: job.VO, jobId: id, params: { Status: plan.newStatus } });
    const a = plan.attributes;
    result.success[id] = Object.fromEntries(
      (["Status", "MinorStatus", "ApplicationStatus", "HeartBeatTime", "StartExecTime", "EndExecTime", "LastUpdateTime"] as const)
        .filter((k) => a[k] !== undefined && a[k] !== null)
        .map((k) => [k, a[k]]),
    ) as JobStatusOutcome;
  }

  for (const chunk of chunks(attributeUpdates, UPDATE_CHUNK)) await deps.jobDB.setJobAttributes(Object.fromEntries(chunk));
  if (killed.length) {
    await removeJobsFromTaskQueue(killed, deps.config, deps.taskQueueDB);
    await deps.jobDB.setJobCommands(killed.map((jobId) => ({ jobId, command: KILL_COMMAND })));
  }
  await deps.jobLoggingDB.insertRecords(records);
  // Last: OpenSearch writes cannot be rolled back, so they follow every SQL write.
  if (parameterUpdates.length) await deps.jobParametersDB.bulkUpsert(parameterUpdates);
  return result;
}
