// Job submission, shared by the `jobs` router and `dev`'s demo jobs: JDLs parsed (a parametric
// JDL expanded into one job per parameter), inserted as Received with their first logging
// record, in the caller's unit of work. Optimisation is submitted by the caller after commit.
import type { JobDB } from "../../db/sql/job-db.ts";
import { compressJdl } from "../../db/sql/job-db.ts";
import type { JobLoggingDB } from "../../db/sql/job-logging-db.ts";
import { DiracxError } from "../../errors.ts";
import { parseJdl, JdlSyntaxError, type Jdl } from "./jdl.ts";
import { JobMinorStatus, JobStatus } from "./status.ts";

/** The source of the logging record a submission writes (DIRAC's JobManager). */
export const SUBMIT_SOURCE = "JobManager";
/** The most jobs one parametric JDL may expand into. */
export const MAX_PARAMETRIC_JOBS = 20;

export class JobSubmissionError extends DiracxError {}

/** Who submits: the token's user; a JDL's own Owner/OwnerGroup/VO are overridden. */
export interface Submitter {
  owner: string;
  ownerGroup: string;
  vo: string;
}

export interface InsertedJob {
  JobID: number;
  Status: string;
  MinorStatus: string;
  TimeStamp: Date;
}

export interface SubmissionDeps {
  jobDB: Pick<JobDB, "createJob" | "updateJobJdls" | "insertJobAttributes">;
  jobLoggingDB: Pick<JobLoggingDB, "insertRecords">;
}

function parameterValues(jdl: Jdl, where: string): string[] | undefined {
  if (!jdl.has("Parameters")) return undefined;
  const raw = jdl.get("Parameters");
  if (Array.isArray(raw)) return jdl.list("Parameters");
  const n = jdl.number("Parameters");
  if (n === undefined || !Number.isInteger(n) || n < 1) throw new JobSubmissionError(`${where}: Parameters must be a list or a positive integer`);
  const start = jdl.number("ParameterStart") ?? 0;
  const step = jdl.number("ParameterStep") ?? 0;
  if (Number.isNaN(start) || Number.isNaN(step)) throw new JobSubmissionError(`${where}: ParameterStart and ParameterStep must be numbers`);
  return Array.from({ length: n }, (_, i) => String(start + i * step));
}

/** One JDL text per job: a parametric JDL becomes one per parameter (`%s` the value, `%n` its index). */
export function expandJdls(jdls: readonly string[]): string[] {
  const out: string[] = [];
  jdls.forEach((text, i) => {
    const where = jdls.length > 1 ? `JDL ${i + 1}` : "JDL";
    let jdl: Jdl;
    try {
      jdl = parseJdl(text);
    } catch (err) {
      if (err instanceof JdlSyntaxError) throw new JdlSyntaxError(`${where}: ${err.message}`);
      throw err;
    }
    const values = parameterValues(jdl, where);
    if (values === undefined) {
      out.push(text);
      return;
    }
    if (jdls.length > 1) throw new JobSubmissionError(`${where}: parametric JDLs cannot be submitted in bulk`);
    if (values.length > MAX_PARAMETRIC_JOBS) throw new JobSubmissionError(`${where}: ${values.length} parameters, at most ${MAX_PARAMETRIC_JOBS} allowed`);
    values.forEach((v, n) => out.push(text.replaceAll("%s", v).replaceAll("%n", String(n))));
  });
  return out;
}

/** Inserts the jobs as Received; returns them in submission order. */
export async function insertJobs(jdls: readonly string[], submitter: Submitter, deps: SubmissionDeps, now: Date = new Date()): Promise<InsertedJob[]> {
  const parsed = jdls.map((t) => parseJdl(t));
  const ids: number[] = [];
  for (const text of jdls) ids.push(await deps.jobDB.createJob(compressJdl(text)));
  if (ids.length === 0) return [];
  await deps.jobDB.updateJobJdls(Object.fromEntries(ids.map((id, i) => [id, compressJdl(jdls[i]!)])));
  await deps.jobDB.insertJobAttributes(
    Object.fromEntries(
      ids.map((id, i) => {
        const jdl = parsed[i]!;
        return [
          id,
          {
            JobName: jdl.string("JobName") ?? "Unknown",
            JobType: jdl.string("JobType") ?? "User",
            JobGroup: jdl.string("JobGroup") ?? "",
            Owner: submitter.owner,
            OwnerGroup: submitter.ownerGroup,
            VO: submitter.vo,
            Status: JobStatus.Received,
            MinorStatus: JobMinorStatus.JobAccepted,
            ApplicationStatus: "Unknown",
            SubmissionTime: now,
            LastUpdateTime: now,
          },
        ];
      }),
    ),
  );
  await deps.jobLoggingDB.insertRecords(
    ids.map((jobId) => ({ jobId, status: JobStatus.Received, minorStatus: JobMinorStatus.JobAccepted, applicationStatus: "Unknown", date: now, source: SUBMIT_SOURCE })),
  );
  return ids.map((JobID) => ({ JobID, Status: JobStatus.Received, MinorStatus: JobMinorStatus.JobAccepted, TimeStamp: now }));
}

/** Expands and inserts: what `POST /api/jobs/jdl` does inside its transaction. */
export async function submitJdlJobs(jdls: readonly string[], submitter: Submitter, deps: SubmissionDeps, now?: Date): Promise<InsertedJob[]> {
  return insertJobs(expandJdls(jdls), submitter, deps, now);
}
