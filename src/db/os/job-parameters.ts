// What every job parameters store shares: the mapping, the index naming and the
// interface the OpenSearch DB and its SQL-backed stand-in both implement.
import { InvalidQueryError, type DocumentValue, type FieldMapping, type Paging, type SearchResult, type SearchSpec, type SortSpec } from "./query.ts";

/** The registry name (`diracx.dbs.os`) and the suffix of both environment variables. */
export const JOB_PARAMETERS_DB_NAME = "JobParametersDB";

/** DiracX's mapping of the job parameters documents. */
export const JOB_PARAMETERS_FIELDS = {
  JobID: { type: "long" },
  CPUNormalizationFactor: { type: "long" },
  "NormCPUTime(s)": { type: "long" },
  "Memory(MB)": { type: "long" },
  "TotalCPUTime(s)": { type: "long" },
  PayloadPID: { type: "long" },
  timestamp: { type: "date" },
  HostName: { type: "text" },
  PilotAgent: { type: "keyword" },
  Pilot_Reference: { type: "keyword" },
  JobGroup: { type: "keyword" },
  LocalAccount: { type: "keyword" },
  GridCE: { type: "keyword" },
  CEQueue: { type: "keyword" },
  BatchSystem: { type: "keyword" },
  ModelName: { type: "keyword" },
  Status: { type: "keyword" },
  JobType: { type: "keyword" },
} as const satisfies FieldMapping;

export const JOB_PARAMETERS_INDEX_PREFIX = "job_parameters_";

/** A job's parameters to write: name → value (unmapped names are kept too). */
export type JobParameters = Record<string, DocumentValue | boolean | null>;

/** One document of a bulk upsert. */
export type JobParametersUpsert = { vo: string; jobId: number; params: JobParameters };

/** The contract of a job parameters store (OpenSearch or SQL-backed). */
export interface JobParametersStore {
  /** Creates the index template (OpenSearch) or is a no-op once migrated (SQL). */
  createIndexTemplate(): Promise<void>;
  /**
   * Merges `params` into the job's document (creating it), stamping `JobID` and
   * `timestamp` (now). Existing fields not in `params` are kept.
   */
  upsert(vo: string, jobId: number, params: JobParameters): Promise<void>;
  /** `upsert` for many jobs in few round trips (entries for one job apply in order). */
  bulkUpsert(docs: readonly JobParametersUpsert[]): Promise<void>;
  /** Searches all VOs; `parameters` selects returned fields (null: all). */
  search(parameters: readonly string[] | null, search: readonly SearchSpec[], sorts: readonly SortSpec[], paging?: Paging): Promise<SearchResult>;
}

// OpenSearch index names are lowercase and may not contain these; a VO is a plain name.
const VO_RE = /^[a-z0-9][a-z0-9_.-]*$/;

/** `job_parameters_<vo lower>_<floor(id / 1e6)>m`: one index per VO and million jobs. */
export function jobParametersIndexName(vo: string, jobId: number): string {
  const v = vo.toLowerCase();
  if (!VO_RE.test(v)) throw new InvalidQueryError(`${JOB_PARAMETERS_DB_NAME}: invalid VO name ${JSON.stringify(vo)} for an index name`);
  if (!Number.isSafeInteger(jobId) || jobId < 0) throw new InvalidQueryError(`${JOB_PARAMETERS_DB_NAME}: invalid job id ${jobId}`);
  return `${JOB_PARAMETERS_INDEX_PREFIX}${v}_${Math.floor(jobId / 1_000_000)}m`;
}

/** The document actually stored: the caller's fields, then the id and a fresh timestamp. */
export function stampJobParameters(jobId: number, params: JobParameters, now: Date = new Date()): JobParameters {
  // JobID and timestamp always describe this write; a caller cannot move a document.
  return { ...params, JobID: jobId, timestamp: now };
}
