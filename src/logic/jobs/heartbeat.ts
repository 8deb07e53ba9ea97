// Heartbeats from running jobs: proof of life, resource figures, and the moment a job
// picks up its pending commands (e.g. Kill).
import { NotFoundError } from "../../db/errors.ts";
import { HEARTBEAT_FIELDS, type JobCommand, type JobDB } from "../../db/sql/job-db.ts";
import type { JobParameters, JobParametersUpsert } from "../../db/os/job-parameters.ts";
import { setJobStatuses, type JobStatusDeps } from "./set-job-statuses.ts";
import { HEARTBEAT_SOURCE, JobStatus } from "./status.ts";

/** What a job reports: heartbeat figures (LoadAverage, MemoryUsed, …) and any job parameter. */
export type HeartbeatData = Readonly<Record<string, string | number>>;

export interface HeartbeatDeps extends JobStatusDeps {
  jobDB: JobStatusDeps["jobDB"] & Pick<JobDB, "addHeartbeatData" | "getJobCommands">;
}

const HEARTBEAT_FIELD_SET: ReadonlySet<string> = new Set(HEARTBEAT_FIELDS);
// A heartbeat of a job in these states means it is running after all.
const RESUMED_BY_HEARTBEAT: ReadonlySet<string> = new Set([JobStatus.Matched, JobStatus.Stalled]);

/**
 * Records heartbeats (DiracX `add_heartbeat`): Matched/Stalled jobs go to Running, the
 * others get a fresh HeartBeatTime; heartbeat figures go to HeartBeatLoggingInfo and
 * other fields to the job parameters. Returns the jobs' pending commands (now Sent).
 * Unknown jobs are refused before anything is written.
 */
export async function addHeartbeat(data: Readonly<Record<number, HeartbeatData>>, deps: HeartbeatDeps, opts: { now?: Date } = {}): Promise<JobCommand[]> {
  const now = opts.now ?? new Date();
  const ids = Object.keys(data).map(Number);
  if (ids.length === 0) return [];
  const found = await deps.jobDB.search({
    parameters: ["JobID", "Status", "VO"],
    search: [{ parameter: "JobID", operator: "in", values: ids }],
    perPage: ids.length,
  });
  const jobs = new Map(found.rows.map((r) => [Number(r.JobID), r]));
  const missing = ids.filter((id) => !jobs.has(id));
  if (missing.length) throw new NotFoundError(`heartbeat for unknown job(s): ${missing.join(", ")}`);

  const resumed: Record<number, Array<{ time: Date; status: string; source: string }>> = {};
  const alive: Record<number, { HeartBeatTime: Date }> = {};
  for (const id of ids) {
    if (RESUMED_BY_HEARTBEAT.has(jobs.get(id)!.Status ?? "")) resumed[id] = [{ time: now, status: JobStatus.Running, source: HEARTBEAT_SOURCE }];
    else alive[id] = { HeartBeatTime: now };
  }
  // The Heartbeat source makes setJobStatuses set HeartBeatTime for the resumed jobs.
  if (Object.keys(resumed).length) await setJobStatuses(resumed, deps, { now });
  if (Object.keys(alive).length) await deps.jobDB.setJobAttributes(alive);

  const figures: Record<number, Record<string, string | number>> = {};
  const parameters: JobParametersUpsert[] = [];
  for (const id of ids) {
    const params: JobParameters = {};
    for (const [k, v] of Object.entries(data[id]!)) {
      if (HEARTBEAT_FIELD_SET.has(k)) (figures[id] ??= {})[k] = v;
      else params[k] = v;
    }
    const vo = jobs.get(id)!.VO;
    if (Object.keys(params).length && vo) parameters.push({ vo, jobId: id, params });
  }
  if (Object.keys(figures).length) await deps.jobDB.addHeartbeatData(figures, now);
  if (parameters.length) await deps.jobParametersDB.bulkUpsert(parameters);
  return deps.jobDB.getJobCommands(ids);
}
