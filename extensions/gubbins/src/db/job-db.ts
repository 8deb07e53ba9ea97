import type { Kysely } from "kysely";
import { JobDB, runScript, type JobDBSchema, type Migration } from "diracx-tasks";

export interface GubbinsInfoTable {
  JobID: number;
  Info: string;
}

export interface GubbinsJobDBSchema extends JobDBSchema {
  GubbinsInfo: GubbinsInfoTable;
}

export interface JdlWithInfo {
  JDL: string;
  Info: string;
}

/**
 * Gubbins' JobDB: registered under the core name `JobDB`, so every consumer of
 * JobDB (core tasks included) gets this class. It adds a table rather than
 * altering core ones, with its own migration scope.
 */
export class GubbinsJobDB extends JobDB {
  static override readonly migrations: readonly Migration[] = [
    ...JobDB.migrations,
    {
      scope: "gubbins",
      version: 1,
      name: "create GubbinsInfo",
      async up(db: Kysely<unknown>) {
        await runScript(
          db,
          `
          CREATE TABLE "GubbinsInfo" (
            "JobID" integer NOT NULL REFERENCES "Jobs"("JobID") ON DELETE CASCADE,
            "Info" varchar(255) NOT NULL DEFAULT '',
            PRIMARY KEY ("JobID", "Info")
          );
        `,
        );
      },
    },
  ];

  private get gdb(): Kysely<GubbinsJobDBSchema> {
    return this.db as unknown as Kysely<GubbinsJobDBSchema>;
  }

  async insertGubbinsInfo(jobId: number, info: string): Promise<void> {
    await this.gdb.insertInto("GubbinsInfo").values({ JobID: jobId, Info: info }).execute();
  }

  override getJobJdls(jobIds: readonly number[], opts?: { original?: boolean; withInfo?: false }): Promise<Record<number, string>>;
  override getJobJdls(jobIds: readonly number[], opts: { original?: boolean; withInfo: true }): Promise<Record<number, JdlWithInfo>>;
  override async getJobJdls(jobIds: readonly number[], opts: { original?: boolean; withInfo?: boolean } = {}): Promise<Record<number, string> | Record<number, JdlWithInfo>> {
    const jdls = await super.getJobJdls(jobIds, { original: opts.original ?? false });
    if (!opts.withInfo) return jdls;
    const infos = jobIds.length ? await this.gdb.selectFrom("GubbinsInfo").select(["JobID", "Info"]).where("JobID", "in", [...jobIds]).orderBy("Info").execute() : [];
    const infoOf = new Map<number, string>();
    for (const r of infos) infoOf.set(r.JobID, infoOf.has(r.JobID) ? `${infoOf.get(r.JobID)},${r.Info}` : r.Info);
    return Object.fromEntries(Object.entries(jdls).map(([id, JDL]) => [id, { JDL, Info: infoOf.get(Number(id)) ?? "" }]));
  }
}
