import { sql, type ColumnType, type Kysely } from "kysely";
import { BaseSQLDB } from "./base.ts";
import { runScript, type Migration } from "./migrations.ts";

export interface LoggingInfoTable {
  JobID: number;
  SeqNum: number;
  Status: string;
  MinorStatus: string;
  ApplicationStatus: string;
  StatusTime: ColumnType<Date, Date | string, Date | string>;
  StatusTimeOrder: number;
  StatusSource: string;
}

export interface JobLoggingDBSchema {
  LoggingInfo: LoggingInfoTable;
}

/** One status change of a job, as recorded. `"idem"` means "unchanged since the previous record". */
export interface JobLoggingRecord {
  jobId: number;
  status: string;
  minorStatus: string;
  applicationStatus: string;
  date: Date;
  source: string;
}

export interface JobStatusRecord {
  Status: string;
  MinorStatus: string;
  ApplicationStatus: string;
  StatusTime: Date;
  Source: string;
}

/** Seconds since this epoch order records; DIRAC's historical offset keeps values in Numeric(12,3). */
const STATUS_TIME_ORDER_EPOCH = 1270000000;
// Postgres allows 65535 bind parameters per statement; 7 per record.
const INSERT_CHUNK = 5000;

/** StatusTimeOrder of an instant. A JS Date is absolute, so no time-zone confusion can creep in. */
export function statusTimeOrder(date: Date): number {
  return Math.round((date.getTime() / 1000 - STATUS_TIME_ORDER_EPOCH) * 1000) / 1000;
}

const migrations: Migration[] = [
  {
    version: 1,
    name: "create LoggingInfo",
    async up(db: Kysely<unknown>) {
      await runScript(
        db,
        `
        CREATE TABLE "LoggingInfo" (
          "JobID" integer NOT NULL,
          "SeqNum" integer NOT NULL,
          "Status" varchar(32) NOT NULL DEFAULT '',
          "MinorStatus" varchar(128) NOT NULL DEFAULT '',
          "ApplicationStatus" varchar(255) NOT NULL DEFAULT '',
          "StatusTime" timestamptz NOT NULL DEFAULT now(),
          "StatusTimeOrder" numeric(12,3) NOT NULL DEFAULT 0,
          "StatusSource" varchar(32) NOT NULL DEFAULT 'Unknown',
          PRIMARY KEY ("JobID", "SeqNum")
        );
        CREATE INDEX "LoggingInfoStatusTimeOrder" ON "LoggingInfo" ("JobID", "StatusTimeOrder");
      `,
      );
    },
  },
];

/** The job logging database: the history of every job's status changes. */
export class JobLoggingDB extends BaseSQLDB<JobLoggingDBSchema> {
  static override readonly dbName: string = "JobLoggingDB";
  static override readonly migrations: readonly Migration[] = migrations;

  /**
   * Appends records; each job's SeqNum continues from its current maximum, in the
   * order given. Set-based: one lock statement and one INSERT … SELECT per chunk.
   */
  async insertRecords(records: readonly JobLoggingRecord[]): Promise<void> {
    if (records.length === 0) return;
    // Two writers appending to the same job would compute the same next SeqNum;
    // a per-job transaction lock (taken in id order, so never deadlocking) serialises them.
    const jobIds = [...new Set(records.map((r) => r.jobId))].sort((a, b) => a - b);
    await sql`SELECT pg_advisory_xact_lock(hashtext('LoggingInfo'), id) FROM unnest(${jobIds}::integer[]) AS id ORDER BY id`.execute(this.db);
    for (let start = 0; start < records.length; start += INSERT_CHUNK) {
      const chunk = records.slice(start, start + INSERT_CHUNK);
      const values = sql.join(
        chunk.map(
          (r, i) =>
            sql`(${r.jobId}::integer, ${start + i}::integer, ${r.status.slice(0, 32)}::varchar, ${r.minorStatus.slice(0, 128)}::varchar, ${r.applicationStatus.slice(0, 255)}::varchar, ${r.date}::timestamptz, ${statusTimeOrder(r.date)}::numeric, ${r.source.slice(0, 32)}::varchar)`,
        ),
      );
      await sql`
        INSERT INTO "LoggingInfo" ("JobID", "SeqNum", "Status", "MinorStatus", "ApplicationStatus", "StatusTime", "StatusTimeOrder", "StatusSource")
        SELECT v.job_id,
               COALESCE((SELECT max(l."SeqNum") FROM "LoggingInfo" l WHERE l."JobID" = v.job_id), 0)
                 + row_number() OVER (PARTITION BY v.job_id ORDER BY v.ord),
               v.status, v.minor, v.app, v.at, v.tord, v.source
        FROM (VALUES ${values}) AS v(job_id, ord, status, minor, app, at, tord, source)`.execute(this.db);
    }
  }

  /**
   * The history of each job in time order, with `"idem"` replaced by the previous
   * record's value (a leading "idem" becomes "Unknown").
   */
  async getRecords(jobIds: readonly number[]): Promise<Record<number, JobStatusRecord[]>> {
    const out: Record<number, JobStatusRecord[]> = {};
    if (jobIds.length === 0) return out;
    const rows = await this.db
      .selectFrom("LoggingInfo")
      .selectAll()
      .where("JobID", "in", [...new Set(jobIds)])
      .orderBy("JobID")
      .orderBy("StatusTimeOrder")
      .orderBy("StatusTime")
      .orderBy("SeqNum")
      .execute();
    for (const r of rows) {
      const list = (out[r.JobID] ??= []);
      const prev = list[list.length - 1];
      const resolve = (v: string, key: "Status" | "MinorStatus" | "ApplicationStatus") => (v === "idem" ? (prev?.[key] ?? "Unknown") : v);
      list.push({
        Status: resolve(r.Status, "Status"),
        MinorStatus: resolve(r.MinorStatus, "MinorStatus"),
        ApplicationStatus: resolve(r.ApplicationStatus, "ApplicationStatus"),
        StatusTime: r.StatusTime,
        Source: r.StatusSource,
      });
    }
    return out;
  }

  async deleteRecords(jobIds: readonly number[]): Promise<number> {
    if (jobIds.length === 0) return 0;
    const res = await this.db.deleteFrom("LoggingInfo").where("JobID", "in", [...new Set(jobIds)]).executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /**
   * `{jobId: {status: latest StatusTimeOrder}}`. Every requested job is present;
   * one without records maps to `{}` (upstream raised for it).
   */
  async getWmsTimeStamps(jobIds: readonly number[]): Promise<Record<number, Record<string, number>>> {
    const out: Record<number, Record<string, number>> = {};
    for (const id of jobIds) out[id] = {};
    if (jobIds.length === 0) return out;
    const rows = await this.db
      .selectFrom("LoggingInfo")
      .select(["JobID", "Status"])
      .select((eb) => eb.fn.max("StatusTimeOrder").as("order"))
      .where("JobID", "in", [...new Set(jobIds)])
      .groupBy(["JobID", "Status"])
      .execute();
    for (const r of rows) (out[r.JobID] ??= {})[r.Status] = Number(r.order);
    return out;
  }
}
