import { deflateSync, inflateSync } from "node:zlib";
import { sql, type ColumnType, type Generated, type Kysely } from "kysely";
import { InvalidQueryError } from "../errors.ts";
import { BaseSQLDB } from "./base.ts";
import { runScript, type Migration } from "./migrations.ts";
import { searchTable, summarizeTable, type SearchOptions, type SearchResult, type SearchSpec, type TableDescription } from "./search.ts";

/** A time column: read as Date, written as Date (or ISO string). */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** A column with a server default: optional on insert. */
type Defaulted<T> = ColumnType<T, T | undefined, T>;

export type AccountedFlag = "True" | "False" | "Failed";

export interface JobsTable {
  JobID: number;
  JobType: Defaulted<string>;
  JobGroup: Defaulted<string>;
  Site: Defaulted<string>;
  JobName: Defaulted<string>;
  Owner: Defaulted<string>;
  OwnerGroup: Defaulted<string>;
  VO: ColumnType<string | null, string | null | undefined, string | null>;
  SubmissionTime: NullableTimestamp;
  RescheduleTime: NullableTimestamp;
  LastUpdateTime: NullableTimestamp;
  StartExecTime: NullableTimestamp;
  HeartBeatTime: NullableTimestamp;
  EndExecTime: NullableTimestamp;
  Status: Defaulted<string>;
  MinorStatus: Defaulted<string>;
  ApplicationStatus: Defaulted<string>;
  UserPriority: Defaulted<number>;
  RescheduleCounter: Defaulted<number>;
  VerifiedFlag: Defaulted<boolean>;
  AccountedFlag: Defaulted<AccountedFlag>;
}

export interface JobJDLsTable {
  JobID: Generated<number>;
  JDL: Defaulted<string>;
  JobRequirements: Defaulted<string>;
  OriginalJDL: Defaulted<string>;
}

export interface InputDataTable {
  JobID: number;
  LFN: string;
  Status: Defaulted<string>;
}

export interface JobParametersTable {
  JobID: number;
  Name: string;
  Value: string;
}

export interface AtticJobParametersTable extends JobParametersTable {
  RescheduleCycle: number;
}

export interface HeartBeatLoggingInfoTable {
  JobID: number;
  Name: string;
  Value: string;
  HeartBeatTime: Defaulted<Date>;
}

export interface JobCommandsTable {
  JobID: number;
  Command: string;
  Arguments: string;
  Status: Defaulted<string>;
  ReceptionTime: Defaulted<Date>;
  ExecutionTime: NullableTimestamp;
}

export interface JobDBSchema {
  Jobs: JobsTable;
  JobJDLs: JobJDLsTable;
  InputData: InputDataTable;
  JobParameters: JobParametersTable;
  OptimizerParameters: JobParametersTable;
  AtticJobParameters: AtticJobParametersTable;
  HeartBeatLoggingInfo: HeartBeatLoggingInfoTable;
  JobCommands: JobCommandsTable;
}

/** A row of `Jobs` as read. */
export type JobAttributes = {
  [K in keyof JobsTable]: JobsTable[K] extends ColumnType<infer S, unknown, unknown> ? S : JobsTable[K];
};
/** Columns a caller may set on a job (everything but the id). */
export type JobAttributeUpdate = Partial<Omit<JobAttributes, "JobID">>;

export const JOB_COLUMNS = [
  "JobID", "JobType", "JobGroup", "Site", "JobName", "Owner", "OwnerGroup", "VO",
  "SubmissionTime", "RescheduleTime", "LastUpdateTime", "StartExecTime", "HeartBeatTime", "EndExecTime",
  "Status", "MinorStatus", "ApplicationStatus", "UserPriority", "RescheduleCounter", "VerifiedFlag", "AccountedFlag",
] as const satisfies readonly (keyof JobsTable)[];

const JOB_DATE_COLUMNS = ["SubmissionTime", "RescheduleTime", "LastUpdateTime", "StartExecTime", "HeartBeatTime", "EndExecTime"] as const;

const JOBS_TABLE: TableDescription = { table: "Jobs", columns: JOB_COLUMNS, dateColumns: JOB_DATE_COLUMNS };

// SQL types of the settable columns; CASE branches mixing parameters need them.
const JOB_COLUMN_TYPES: Record<Exclude<(typeof JOB_COLUMNS)[number], "JobID">, string> = {
  JobType: "varchar", JobGroup: "varchar", Site: "varchar", JobName: "varchar", Owner: "varchar", OwnerGroup: "varchar", VO: "varchar",
  SubmissionTime: "timestamptz", RescheduleTime: "timestamptz", LastUpdateTime: "timestamptz", StartExecTime: "timestamptz",
  HeartBeatTime: "timestamptz", EndExecTime: "timestamptz", Status: "varchar", MinorStatus: "varchar", ApplicationStatus: "varchar",
  UserPriority: "integer", RescheduleCounter: "integer", VerifiedFlag: "boolean", AccountedFlag: "varchar",
};

/** Heartbeat fields kept in HeartBeatLoggingInfo; anything else belongs to job parameters. */
export const HEARTBEAT_FIELDS = ["LoadAverage", "MemoryUsed", "Vsize", "AvailableDiskSpace", "CPUConsumed", "WallClockTime"] as const;
export type HeartbeatField = (typeof HEARTBEAT_FIELDS)[number];
/** JDL attributes copied to Jobs columns. */
export const JDL_TO_DB_PARAMETERS = ["JobName", "JobType", "JobGroup"] as const;

/** JDLs are stored zlib-compressed and base64-encoded, as DiracX does. */
export function compressJdl(jdl: string): string {
  return deflateSync(Buffer.from(jdl, "utf8")).toString("base64");
}

/** Reverses compressJdl; values that are already plain ClassAds (`[…`) pass through. */
export function extractJdl(stored: string): string {
  if (stored.startsWith("[")) return stored;
  return inflateSync(Buffer.from(stored, "base64")).toString("utf8");
}

export interface JobCommand {
  jobId: number;
  command: string;
  arguments?: string;
}

const jobMigrations: Migration[] = [
  {
    version: 1,
    name: "create JobDB tables",
    async up(db: Kysely<unknown>) {
      await runScript(
        db,
        `
        CREATE TABLE "JobJDLs" (
          "JobID" serial PRIMARY KEY,
          "JDL" text NOT NULL DEFAULT '',
          "JobRequirements" text NOT NULL DEFAULT '',
          "OriginalJDL" text NOT NULL DEFAULT ''
        );
        CREATE TABLE "Jobs" (
          "JobID" integer PRIMARY KEY REFERENCES "JobJDLs"("JobID") ON DELETE CASCADE,
          "JobType" varchar(32) NOT NULL DEFAULT 'user',
          "JobGroup" varchar(32) NOT NULL DEFAULT '00000000',
          "Site" varchar(100) NOT NULL DEFAULT 'ANY',
          "JobName" varchar(128) NOT NULL DEFAULT 'Unknown',
          "Owner" varchar(64) NOT NULL DEFAULT 'Unknown',
          "OwnerGroup" varchar(128) NOT NULL DEFAULT 'Unknown',
          "VO" varchar(32),
          "SubmissionTime" timestamptz,
          "RescheduleTime" timestamptz,
          "LastUpdateTime" timestamptz,
          "StartExecTime" timestamptz,
          "HeartBeatTime" timestamptz,
          "EndExecTime" timestamptz,
          "Status" varchar(32) NOT NULL DEFAULT 'Received',
          "MinorStatus" varchar(128) NOT NULL DEFAULT 'Unknown',
          "ApplicationStatus" varchar(255) NOT NULL DEFAULT 'Unknown',
          "UserPriority" integer NOT NULL DEFAULT 0,
          "RescheduleCounter" integer NOT NULL DEFAULT 0,
          "VerifiedFlag" boolean NOT NULL DEFAULT false,
          "AccountedFlag" varchar(8) NOT NULL DEFAULT 'False' CHECK ("AccountedFlag" IN ('True', 'False', 'Failed'))
        );
        CREATE INDEX "JobType" ON "Jobs" ("JobType");
        CREATE INDEX "JobGroup" ON "Jobs" ("JobGroup");
        CREATE INDEX "Site" ON "Jobs" ("Site");
        CREATE INDEX "Owner" ON "Jobs" ("Owner");
        CREATE INDEX "OwnerGroup" ON "Jobs" ("OwnerGroup");
        CREATE INDEX "Status" ON "Jobs" ("Status");
        CREATE INDEX "MinorStatus" ON "Jobs" ("MinorStatus");
        CREATE INDEX "ApplicationStatus" ON "Jobs" ("ApplicationStatus");
        CREATE INDEX "StatusSite" ON "Jobs" ("Status", "Site");
        CREATE INDEX "LastUpdateTime" ON "Jobs" ("LastUpdateTime");
        CREATE TABLE "InputData" (
          "JobID" integer NOT NULL REFERENCES "Jobs"("JobID") ON DELETE CASCADE,
          "LFN" varchar(255) NOT NULL,
          "Status" varchar(32) NOT NULL DEFAULT 'AprioriGood',
          PRIMARY KEY ("JobID", "LFN")
        );
        CREATE TABLE "JobParameters" (
          "JobID" integer NOT NULL REFERENCES "Jobs"("JobID") ON DELETE CASCADE,
          "Name" varchar(100) NOT NULL,
          "Value" text NOT NULL,
          PRIMARY KEY ("JobID", "Name")
        );
        CREATE TABLE "OptimizerParameters" (
          "JobID" integer NOT NULL REFERENCES "Jobs"("JobID") ON DELETE CASCADE,
          "Name" varchar(100) NOT NULL,
          "Value" text NOT NULL,
          PRIMARY KEY ("JobID", "Name")
        );
        CREATE TABLE "AtticJobParameters" (
          "JobID" integer NOT NULL REFERENCES "Jobs"("JobID") ON DELETE CASCADE,
          "Name" varchar(100) NOT NULL,
          "Value" text NOT NULL,
          "RescheduleCycle" integer NOT NULL,
          PRIMARY KEY ("JobID", "Name", "RescheduleCycle")
        );
        CREATE TABLE "HeartBeatLoggingInfo" (
          "JobID" integer NOT NULL REFERENCES "Jobs"("JobID") ON DELETE CASCADE,
          "Name" varchar(100) NOT NULL,
          "Value" text NOT NULL,
          "HeartBeatTime" timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY ("JobID", "Name", "HeartBeatTime")
        );
        CREATE TABLE "JobCommands" (
          "JobID" integer NOT NULL REFERENCES "Jobs"("JobID") ON DELETE CASCADE,
          "Command" varchar(100) NOT NULL,
          "Arguments" varchar(100) NOT NULL DEFAULT '',
          "Status" varchar(64) NOT NULL DEFAULT 'Received',
          "ReceptionTime" timestamptz NOT NULL DEFAULT clock_timestamp(),
          "ExecutionTime" timestamptz,
          PRIMARY KEY ("JobID", "ReceptionTime")
        );
      `,
      );
    },
  },
];

function ids(jobIds: Iterable<number>): number[] {
  return [...new Set(jobIds)];
}

/** The job database: attributes, JDLs, input data, parameters, heartbeats and commands. */
export class JobDB extends BaseSQLDB<JobDBSchema> {
  static override readonly dbName: string = "JobDB";
  static override readonly migrations: readonly Migration[] = jobMigrations;

  search(opts: SearchOptions = {}): Promise<SearchResult<Partial<JobAttributes>>> {
    return searchTable<Partial<JobAttributes>>(this.db, JOBS_TABLE, opts);
  }

  summary(groupBy: readonly string[], search: readonly SearchSpec[] = []): Promise<Record<string, unknown>[]> {
    return summarizeTable(this.db, JOBS_TABLE, groupBy, search);
  }

  /** Allocates a JobID (the JobJDLs sequence) and stores the original JDL. */
  async createJob(compressedOriginalJdl: string): Promise<number> {
    const row = await this.db
      .insertInto("JobJDLs")
      .values({ JDL: "", JobRequirements: "", OriginalJDL: compressedOriginalJdl })
      .returning("JobID")
      .executeTakeFirstOrThrow();
    return row.JobID;
  }

  /** Inserts the Jobs rows of freshly created jobs (one statement). */
  async insertJobAttributes(jobs: Record<number, JobAttributeUpdate>): Promise<void> {
    const rows = Object.entries(jobs).map(([id, attrs]) => ({ ...attrs, JobID: Number(id) }));
    if (rows.length === 0) return;
    for (const r of rows) for (const k of Object.keys(r)) this.assertColumn(k);
    await this.db.insertInto("Jobs").values(rows).execute();
  }

  /** Replaces the (compressed) JDLs of many jobs in one statement. */
  async updateJobJdls(jdls: Record<number, string>): Promise<void> {
    const entries = Object.entries(jdls);
    if (entries.length === 0) return;
    const values = sql.join(entries.map(([id, jdl]) => sql`(${Number(id)}::integer, ${jdl}::text)`));
    await sql`UPDATE "JobJDLs" SET "JDL" = v.jdl FROM (VALUES ${values}) AS v(id, jdl) WHERE "JobJDLs"."JobID" = v.id`.execute(this.db);
  }

  async insertInputData(lfns: Record<number, readonly string[]>): Promise<void> {
    const rows = Object.entries(lfns).flatMap(([id, list]) => [...new Set(list)].map((LFN) => ({ JobID: Number(id), LFN })));
    if (rows.length) await this.db.insertInto("InputData").values(rows).execute();
  }

  async getInputData(jobIds: readonly number[]): Promise<Record<number, string[]>> {
    const out: Record<number, string[]> = {};
    if (jobIds.length === 0) return out;
    const rows = await this.db.selectFrom("InputData").select(["JobID", "LFN"]).where("JobID", "in", ids(jobIds)).orderBy("JobID").orderBy("LFN").execute();
    for (const r of rows) (out[r.JobID] ??= []).push(r.LFN);
    return out;
  }

  private assertColumn(name: string): asserts name is keyof JobsTable {
    if (!(JOB_COLUMNS as readonly string[]).includes(name)) {
      throw new InvalidQueryError(`unknown Jobs column '${name}' (known: ${JOB_COLUMNS.join(", ")})`);
    }
  }

  /**
   * Updates many jobs, each with its own columns, in ONE statement
   * (`SET col = CASE "JobID" WHEN … END`). A job whose update sets Status also
   * gets LastUpdateTime = now unless the caller gives one. Returns the rows updated.
   */
  async setJobAttributes(updates: Record<number, JobAttributeUpdate>): Promise<number> {
    const entries = Object.entries(updates).map(([id, attrs]): [number, JobAttributeUpdate] => [Number(id), { ...attrs }]);
    if (entries.length === 0) throw new InvalidQueryError("setJobAttributes needs at least one job to update");
    const now = new Date();
    for (const [, attrs] of entries) {
      if (attrs.Status !== undefined && attrs.LastUpdateTime === undefined) attrs.LastUpdateTime = now;
    }
    const columns = new Set<string>();
    for (const [id, attrs] of entries) {
      const keys = Object.keys(attrs).filter((k) => attrs[k as keyof JobAttributeUpdate] !== undefined);
      if (keys.length === 0) throw new InvalidQueryError(`setJobAttributes: nothing to set for job ${id}`);
      for (const k of keys) {
        if (k === "JobID") throw new InvalidQueryError(`setJobAttributes: JobID of job ${id} cannot be changed`);
        this.assertColumn(k);
        columns.add(k);
      }
    }
    const assignments = [...columns].map((col) => {
      const type = sql.raw(JOB_COLUMN_TYPES[col as keyof typeof JOB_COLUMN_TYPES]);
      const branches = entries
        .filter(([, a]) => a[col as keyof JobAttributeUpdate] !== undefined)
        .map(([id, a]) => sql`WHEN ${id}::integer THEN ${a[col as keyof JobAttributeUpdate]}::${type}`);
      return sql`${sql.ref(col)} = CASE "JobID" ${sql.join(branches, sql` `)} ELSE ${sql.ref(col)} END`;
    });
    const res = await sql`UPDATE "Jobs" SET ${sql.join(assignments)} WHERE "JobID" IN (${sql.join(entries.map(([id]) => id))})`.execute(this.db);
    return Number(res.numAffectedRows ?? 0n);
  }

  /** `{jobId: JDL}` (decompressed), skipping jobs whose JDL is empty. */
  async getJobJdls(jobIds: readonly number[], opts: { original?: boolean } = {}): Promise<Record<number, string>> {
    const out: Record<number, string> = {};
    if (jobIds.length === 0) return out;
    const col = opts.original ? "OriginalJDL" : "JDL";
    const rows = await this.db.selectFrom("JobJDLs").select(["JobID", col]).where("JobID", "in", ids(jobIds)).execute();
    for (const r of rows) {
      const v = (r as unknown as Record<string, string>)[col] ?? "";
      if (v) out[r.JobID] = extractJdl(v);
    }
    return out;
  }

  /** Deletes jobs; the cascade removes every row that refers to them. Returns how many existed. */
  async deleteJobs(jobIds: readonly number[]): Promise<number> {
    if (jobIds.length === 0) return 0;
    const res = await this.db.deleteFrom("JobJDLs").where("JobID", "in", ids(jobIds)).executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  async setJobCommands(commands: readonly JobCommand[]): Promise<void> {
    if (commands.length === 0) return;
    await this.db
      .insertInto("JobCommands")
      .values(commands.map((c) => ({ JobID: c.jobId, Command: c.command, Arguments: c.arguments ?? "" })))
      .execute();
  }

  /**
   * Pending commands of the jobs, marked Sent in the same statement. Only the
   * commands returned change state (upstream marked every command of the job).
   */
  async getJobCommands(jobIds: readonly number[]): Promise<JobCommand[]> {
    if (jobIds.length === 0) return [];
    const rows = await this.db
      .updateTable("JobCommands")
      .set({ Status: "Sent", ExecutionTime: new Date() })
      .where("JobID", "in", ids(jobIds))
      .where("Status", "=", "Received")
      .returning(["JobID", "Command", "Arguments", "ReceptionTime"])
      .execute();
    rows.sort((a, b) => a.JobID - b.JobID || a.ReceptionTime.getTime() - b.ReceptionTime.getTime());
    return rows.map((r) => ({ jobId: r.JobID, command: r.Command, arguments: r.Arguments }));
  }

  /** Records heartbeat values; only HEARTBEAT_FIELDS are accepted. */
  async addHeartbeatData(data: Record<number, Partial<Record<HeartbeatField, string | number>>>, at: Date = new Date()): Promise<void> {
    const rows: { JobID: number; Name: string; Value: string; HeartBeatTime: Date }[] = [];
    for (const [id, fields] of Object.entries(data)) {
      for (const [name, value] of Object.entries(fields)) {
        if (!(HEARTBEAT_FIELDS as readonly string[]).includes(name)) {
          throw new InvalidQueryError(`heartbeat field '${name}' of job ${id} is not one of ${HEARTBEAT_FIELDS.join(", ")}`);
        }
        if (value !== undefined) rows.push({ JobID: Number(id), Name: name, Value: String(value), HeartBeatTime: at });
      }
    }
    if (rows.length === 0) return;
    await this.db
      .insertInto("HeartBeatLoggingInfo")
      .values(rows)
      .onConflict((oc) => oc.columns(["JobID", "Name", "HeartBeatTime"]).doUpdateSet((eb) => ({ Value: eb.ref("excluded.Value") })))
      .execute();
  }

  async getHeartbeatData(jobId: number): Promise<{ name: string; value: string; at: Date }[]> {
    const rows = await this.db.selectFrom("HeartBeatLoggingInfo").selectAll().where("JobID", "=", jobId).orderBy("HeartBeatTime").orderBy("Name").execute();
    return rows.map((r) => ({ name: r.Name, value: r.Value, at: r.HeartBeatTime }));
  }

  /** Upserts `{jobId: {name: value}}` into JobParameters (or OptimizerParameters). */
  async setJobParameters(params: Record<number, Record<string, string>>, table: "JobParameters" | "OptimizerParameters" = "JobParameters"): Promise<void> {
    const rows = Object.entries(params).flatMap(([id, kv]) => Object.entries(kv).map(([Name, Value]) => ({ JobID: Number(id), Name, Value })));
    if (rows.length === 0) return;
    await this.db
      .insertInto(table)
      .values(rows)
      .onConflict((oc) => oc.columns(["JobID", "Name"]).doUpdateSet((eb) => ({ Value: eb.ref("excluded.Value") })))
      .execute();
  }

  async getJobParameters(jobIds: readonly number[], table: "JobParameters" | "OptimizerParameters" = "JobParameters"): Promise<Record<number, Record<string, string>>> {
    const out: Record<number, Record<string, string>> = {};
    if (jobIds.length === 0) return out;
    const rows = await this.db.selectFrom(table).selectAll().where("JobID", "in", ids(jobIds)).execute();
    for (const r of rows) (out[r.JobID] ??= {})[r.Name] = r.Value;
    return out;
  }

  /** Moves the current JobParameters of jobs to AtticJobParameters under their reschedule cycle. */
  async atticJobParameters(jobIds: readonly number[]): Promise<void> {
    if (jobIds.length === 0) return;
    await sql`
      INSERT INTO "AtticJobParameters" ("JobID", "Name", "Value", "RescheduleCycle")
      SELECT p."JobID", p."Name", p."Value", j."RescheduleCounter" FROM "JobParameters" p JOIN "Jobs" j USING ("JobID")
      WHERE p."JobID" IN (${sql.join(ids(jobIds))})
      ON CONFLICT DO NOTHING`.execute(this.db);
    await this.db.deleteFrom("JobParameters").where("JobID", "in", ids(jobIds)).execute();
  }

  // Selections the core tasks make. They live here, not in the tasks, so an extension's JobDB
  // subclass (registered under `JobDB`) can change what every task selects.

  /** Up to `limit` jobs in one of `statuses` (and `minorStatus`, if given) with ids above `after`, by id. */
  async jobIdsInStatus(statuses: readonly string[], opts: { minorStatus?: string; after?: number; limit: number }): Promise<number[]> {
    if (statuses.length === 0) return [];
    let q = this.db.selectFrom("Jobs").select("JobID").where("Status", "in", [...statuses]).where("JobID", ">", opts.after ?? 0);
    if (opts.minorStatus !== undefined) q = q.where("MinorStatus", "=", opts.minorStatus);
    const rows = await q.orderBy("JobID").limit(opts.limit).execute();
    return rows.map((r) => r.JobID);
  }

  /** Which of `jobIds` are in `status`. */
  async filterByStatus(jobIds: readonly number[], status: string): Promise<number[]> {
    if (jobIds.length === 0) return [];
    const rows = await this.db.selectFrom("Jobs").select("JobID").where("JobID", "in", ids(jobIds)).where("Status", "=", status).execute();
    return rows.map((r) => r.JobID);
  }

  /**
   * Up to `limit` jobs in `status` whose reference time is before `cutoff`, oldest first:
   * `heartbeat` — the last heartbeat, or for a job that never sent one when it started (or last
   * changed); `lastUpdate` — the last status change.
   */
  async jobsInStatusSince(status: string, reference: "heartbeat" | "lastUpdate", cutoff: Date, limit: number): Promise<{ JobID: number; VO: string | null }[]> {
    const at = reference === "heartbeat" ? sql<Date>`coalesce("HeartBeatTime", "StartExecTime", "LastUpdateTime")` : sql<Date>`coalesce("LastUpdateTime", "HeartBeatTime")`;
    return this.db.selectFrom("Jobs").select(["JobID", "VO"]).where("Status", "=", status).where(at, "<", cutoff).orderBy(at).orderBy("JobID").limit(limit).execute();
  }
}
