import { sql, type ColumnType, type Generated, type Kysely } from "kysely";
import { AlreadyExistsError, DBQueryError, InvalidQueryError, NotFoundError } from "../errors.ts";
import { BaseSQLDB } from "./base.ts";
import { runScript, type Migration } from "./migrations.ts";
import { searchTable, summarizeTable, type SearchOptions, type SearchResult, type SearchSpec, type TableDescription } from "./search.ts";

type Defaulted<T> = ColumnType<T, T | undefined, T>;
type NullableTime = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface PilotAgentsTable {
  PilotID: Generated<number>;
  InitialJobID: Defaulted<number>;
  CurrentJobID: Defaulted<number>;
  PilotJobReference: Defaulted<string>;
  PilotStamp: Defaulted<string>;
  DestinationSite: Defaulted<string>;
  Queue: Defaulted<string>;
  GridSite: Defaulted<string>;
  VO: string;
  GridType: Defaulted<string>;
  BenchMark: Defaulted<number>;
  SubmissionTime: NullableTime;
  LastUpdateTime: NullableTime;
  Status: Defaulted<string>;
  StatusReason: Defaulted<string>;
  AccountingSent: Defaulted<boolean>;
}

export interface JobToPilotMappingTable {
  PilotID: number;
  JobID: number;
  StartTime: Defaulted<Date>;
}

export interface PilotOutputTable {
  PilotID: number;
  StdOutput: Defaulted<string>;
  StdError: Defaulted<string>;
}

export interface PilotAgentsDBSchema {
  PilotAgents: PilotAgentsTable;
  JobToPilotMapping: JobToPilotMappingTable;
  PilotOutput: PilotOutputTable;
}

export type PilotAgent = { [K in keyof PilotAgentsTable]: PilotAgentsTable[K] extends ColumnType<infer S, unknown, unknown> ? S : PilotAgentsTable[K] };
export type PilotMetadataUpdate = Partial<Omit<PilotAgent, "PilotID" | "PilotStamp">>;

const PILOT_COLUMNS = [
  "PilotID", "InitialJobID", "CurrentJobID", "PilotJobReference", "PilotStamp", "DestinationSite", "Queue", "GridSite", "VO", "GridType",
  "BenchMark", "SubmissionTime", "LastUpdateTime", "Status", "StatusReason", "AccountingSent",
] as const satisfies readonly (keyof PilotAgentsTable)[];
const PILOTS_TABLE: TableDescription = { table: "PilotAgents", columns: PILOT_COLUMNS, dateColumns: ["SubmissionTime", "LastUpdateTime"] };
const PILOT_COLUMN_TYPES: Record<string, string> = {
  InitialJobID: "integer", CurrentJobID: "integer", PilotJobReference: "varchar", DestinationSite: "varchar", Queue: "varchar", GridSite: "varchar",
  VO: "varchar", GridType: "varchar", BenchMark: "double precision", SubmissionTime: "timestamptz", LastUpdateTime: "timestamptz",
  Status: "varchar", StatusReason: "varchar", AccountingSent: "boolean",
};

const migrations: Migration[] = [
  {
    version: 1,
    name: "create PilotAgentsDB tables",
    async up(db: Kysely<unknown>) {
      await runScript(
        db,
        `
        CREATE TABLE "PilotAgents" (
          "PilotID" serial PRIMARY KEY,
          "InitialJobID" integer NOT NULL DEFAULT 0,
          "CurrentJobID" integer NOT NULL DEFAULT 0,
          "PilotJobReference" varchar(255) NOT NULL DEFAULT 'Unknown',
          "PilotStamp" varchar(32) NOT NULL DEFAULT '',
          "DestinationSite" varchar(128) NOT NULL DEFAULT 'NotAssigned',
          "Queue" varchar(128) NOT NULL DEFAULT 'Unknown',
          "GridSite" varchar(128) NOT NULL DEFAULT 'Unknown',
          "VO" varchar(128) NOT NULL,
          "GridType" varchar(32) NOT NULL DEFAULT 'LCG',
          "BenchMark" double precision NOT NULL DEFAULT 0,
          "SubmissionTime" timestamptz,
          "LastUpdateTime" timestamptz,
          "Status" varchar(32) NOT NULL DEFAULT 'Unknown',
          "StatusReason" varchar(255) NOT NULL DEFAULT 'Unknown',
          "AccountingSent" boolean NOT NULL DEFAULT false
        );
        CREATE INDEX "PilotJobReference" ON "PilotAgents" ("PilotJobReference");
        CREATE INDEX "PilotStatus" ON "PilotAgents" ("Status");
        CREATE INDEX "Statuskey" ON "PilotAgents" ("GridSite", "DestinationSite", "Status");
        CREATE INDEX "idx_dest_queue_status" ON "PilotAgents" ("DestinationSite", "Queue", "Status");
        CREATE UNIQUE INDEX "PilotStamp" ON "PilotAgents" ("PilotStamp") WHERE "PilotStamp" <> '';
        CREATE TABLE "JobToPilotMapping" (
          "PilotID" integer NOT NULL,
          "JobID" integer NOT NULL,
          "StartTime" timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY ("PilotID", "JobID")
        );
        CREATE INDEX "JobToPilotMappingJobID" ON "JobToPilotMapping" ("JobID");
        CREATE TABLE "PilotOutput" (
          "PilotID" integer PRIMARY KEY,
          "StdOutput" text NOT NULL DEFAULT '',
          "StdError" text NOT NULL DEFAULT ''
        );
      `,
      );
    },
  },
];

export interface RegisterPilotsOptions {
  stamps: readonly string[];
  vo: string;
  gridType?: string;
  gridSite?: string;
  destinationSite?: string;
  /** One per stamp; defaults to the stamp. */
  pilotReferences?: Record<string, string>;
  status?: string;
  submissionTime?: Date;
}

/** Pilots: submitted pilot jobs, the jobs they ran, their output. */
export class PilotAgentsDB extends BaseSQLDB<PilotAgentsDBSchema> {
  static override readonly dbName: string = "PilotAgentsDB";
  static override readonly migrations: readonly Migration[] = migrations;

  /** Registers pilots by stamp (one statement); returns `{stamp: PilotID}`. */
  async registerPilots(opts: RegisterPilotsOptions): Promise<Record<string, number>> {
    if (opts.stamps.length === 0) return {};
    const now = opts.submissionTime ?? new Date();
    try {
      const rows = await this.db
        .insertInto("PilotAgents")
        .values(
          opts.stamps.map((stamp) => ({
            PilotStamp: stamp,
            PilotJobReference: opts.pilotReferences?.[stamp] ?? stamp,
            VO: opts.vo,
            GridType: opts.gridType ?? "DIRAC",
            GridSite: opts.gridSite ?? "Unknown",
            DestinationSite: opts.destinationSite ?? "NotAssigned",
            Status: opts.status ?? "Submitted",
            SubmissionTime: now,
            LastUpdateTime: now,
          })),
        )
        .returning(["PilotID", "PilotStamp"])
        .execute();
      return Object.fromEntries(rows.map((r) => [r.PilotStamp, r.PilotID]));
    } catch (err) {
      if (err instanceof DBQueryError && err.isUniqueViolation) throw new AlreadyExistsError(`a pilot with one of the stamps ${opts.stamps.join(", ")} is already registered`, { cause: err });
      throw err;
    }
  }

  /** Records that a pilot ran these jobs; a job already mapped to it is refused. */
  async assignJobsToPilot(pilotId: number, jobIds: readonly number[], startTime: Date = new Date()): Promise<void> {
    if (jobIds.length === 0) return;
    try {
      await this.db.insertInto("JobToPilotMapping").values(jobIds.map((JobID) => ({ PilotID: pilotId, JobID, StartTime: startTime }))).execute();
    } catch (err) {
      if (err instanceof DBQueryError && err.isUniqueViolation) throw new AlreadyExistsError(`pilot ${pilotId} is already associated with one of jobs ${jobIds.join(", ")}`, { cause: err });
      throw err;
    }
  }

  /** Updates pilots by stamp, each with its own columns, in one statement; unknown stamps raise NotFoundError. */
  async updatePilotMetadata(updates: Record<string, PilotMetadataUpdate>): Promise<void> {
    const entries = Object.entries(updates);
    if (entries.length === 0) throw new InvalidQueryError("updatePilotMetadata needs at least one pilot");
    const columns = new Set<string>();
    for (const [stamp, u] of entries) {
      for (const k of Object.keys(u)) {
        if (!(k in PILOT_COLUMN_TYPES)) throw new InvalidQueryError(`unknown PilotAgents column '${k}' for pilot ${stamp}`);
        columns.add(k);
      }
    }
    if (columns.size === 0) throw new InvalidQueryError("updatePilotMetadata: nothing to set");
    const sets = [...columns].map((col) => {
      const type = sql.raw(PILOT_COLUMN_TYPES[col]!);
      const branches = entries
        .filter(([, u]) => (u as Record<string, unknown>)[col] !== undefined)
        .map(([stamp, u]) => sql`WHEN ${stamp}::varchar THEN ${(u as Record<string, unknown>)[col]}::${type}`);
      return sql`${sql.ref(col)} = CASE "PilotStamp" ${sql.join(branches, sql` `)} ELSE ${sql.ref(col)} END`;
    });
    const stamps = entries.map(([s]) => s);
    const res = await sql<{ PilotStamp: string }>`UPDATE "PilotAgents" SET ${sql.join(sets)} WHERE "PilotStamp" IN (${sql.join(stamps)}) RETURNING "PilotStamp"`.execute(this.db);
    const found = new Set(res.rows.map((r) => r.PilotStamp));
    const missing = stamps.filter((s) => !found.has(s));
    if (missing.length) throw new NotFoundError(`pilots not found: ${missing.join(", ")}`);
  }

  search(opts: SearchOptions = {}): Promise<SearchResult<Partial<PilotAgent>>> {
    return searchTable<Partial<PilotAgent>>(this.db, PILOTS_TABLE, opts);
  }

  summary(groupBy: readonly string[], search: readonly SearchSpec[] = []): Promise<Record<string, unknown>[]> {
    return summarizeTable(this.db, PILOTS_TABLE, groupBy, search);
  }

  /** `{stamp: [JobID…]}` for the jobs each pilot ran. */
  async getJobIdsForStamps(stamps: readonly string[]): Promise<Record<string, number[]>> {
    const out: Record<string, number[]> = {};
    if (stamps.length === 0) return out;
    const rows = await this.db
      .selectFrom("PilotAgents as p")
      .innerJoin("JobToPilotMapping as m", "m.PilotID", "p.PilotID")
      .select(["p.PilotStamp", "m.JobID"])
      .where("p.PilotStamp", "in", [...stamps])
      .orderBy("m.JobID")
      .execute();
    for (const r of rows) (out[r.PilotStamp] ??= []).push(r.JobID);
    return out;
  }

  /** `{JobID: [PilotID…]}`. */
  async getPilotIdsForJobIds(jobIds: readonly number[]): Promise<Record<number, number[]>> {
    const out: Record<number, number[]> = {};
    if (jobIds.length === 0) return out;
    const rows = await this.db.selectFrom("JobToPilotMapping").select(["JobID", "PilotID"]).where("JobID", "in", [...jobIds]).orderBy("PilotID").execute();
    for (const r of rows) (out[r.JobID] ??= []).push(r.PilotID);
    return out;
  }

  async setPilotOutput(pilotId: number, stdOutput: string, stdError: string): Promise<void> {
    await this.db
      .insertInto("PilotOutput")
      .values({ PilotID: pilotId, StdOutput: stdOutput, StdError: stdError })
      .onConflict((oc) => oc.column("PilotID").doUpdateSet({ StdOutput: stdOutput, StdError: stdError }))
      .execute();
  }

  async getPilotOutput(pilotId: number): Promise<{ stdOutput: string; stdError: string } | undefined> {
    const r = await this.db.selectFrom("PilotOutput").selectAll().where("PilotID", "=", pilotId).executeTakeFirst();
    return r && { stdOutput: r.StdOutput, stdError: r.StdError };
  }

  /** Deletes pilots and their mappings and output; returns how many pilots existed. */
  async deletePilots(pilotIds: readonly number[]): Promise<number> {
    if (pilotIds.length === 0) return 0;
    await this.db.deleteFrom("JobToPilotMapping").where("PilotID", "in", [...pilotIds]).execute();
    await this.db.deleteFrom("PilotOutput").where("PilotID", "in", [...pilotIds]).execute();
    const res = await this.db.deleteFrom("PilotAgents").where("PilotID", "in", [...pilotIds]).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
