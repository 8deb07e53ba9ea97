import { sql, type ColumnType, type Generated, type Kysely } from "kysely";
import { AlreadyExistsError, DBQueryError, NotFoundError } from "../errors.ts";
import { BaseSQLDB } from "./base.ts";
import { runScript, type Migration } from "./migrations.ts";

type Defaulted<T> = ColumnType<T, T | undefined, T>;

export interface SbOwnersTable {
  OwnerID: Generated<number>;
  Owner: string;
  OwnerGroup: string;
  VO: string;
}

export interface SbSandBoxesTable {
  SBId: Generated<number>;
  OwnerId: number;
  SEName: string;
  SEPFN: string;
  Bytes: number;
  RegistrationTime: Defaulted<Date>;
  LastAccessTime: Defaulted<Date>;
  Assigned: Defaulted<boolean>;
}

export interface SbEntityMappingTable {
  SBId: number;
  EntityId: string;
  Type: string;
}

export interface SandboxMetadataDBSchema {
  sb_Owners: SbOwnersTable;
  sb_SandBoxes: SbSandBoxesTable;
  sb_EntityMapping: SbEntityMappingTable;
}

export type SandboxType = "Input" | "Output";

export interface SandboxOwner {
  owner: string;
  ownerGroup: string;
  vo: string;
}

export interface SandboxInfo {
  checksumAlgorithm: string;
  checksum: string;
  format: string;
}

export interface SandboxDeletionBatch {
  ids: number[];
  pfns: string[];
  /** Pass back as `cursor` to continue after this batch. */
  cursor: number;
}

/** Mapping entities are named `Job:<id>`. */
function entityId(jobId: number): string {
  return `Job:${jobId}`;
}

const migrations: Migration[] = [
  {
    version: 1,
    name: "create SandboxMetadataDB tables",
    async up(db: Kysely<unknown>) {
      await runScript(
        db,
        `
        CREATE TABLE "sb_Owners" (
          "OwnerID" serial PRIMARY KEY,
          "Owner" varchar(32) NOT NULL,
          "OwnerGroup" varchar(32) NOT NULL,
          "VO" varchar(64) NOT NULL,
          UNIQUE ("Owner", "OwnerGroup", "VO")
        );
        CREATE TABLE "sb_SandBoxes" (
          "SBId" serial PRIMARY KEY,
          "OwnerId" integer NOT NULL REFERENCES "sb_Owners"("OwnerID"),
          "SEName" varchar(64) NOT NULL,
          "SEPFN" varchar(512) NOT NULL,
          "Bytes" bigint NOT NULL DEFAULT 0,
          "RegistrationTime" timestamptz NOT NULL DEFAULT now(),
          "LastAccessTime" timestamptz NOT NULL DEFAULT now(),
          "Assigned" boolean NOT NULL DEFAULT false,
          CONSTRAINT "Location" UNIQUE ("SEName", "SEPFN")
        );
        CREATE INDEX "SandBoxOwnerId" ON "sb_SandBoxes" ("OwnerId");
        CREATE TABLE "sb_EntityMapping" (
          "SBId" integer NOT NULL REFERENCES "sb_SandBoxes"("SBId") ON DELETE CASCADE,
          "EntityId" varchar(128) NOT NULL,
          "Type" varchar(64) NOT NULL,
          PRIMARY KEY ("SBId", "EntityId", "Type")
        );
        CREATE INDEX "EntityMappingEntityId" ON "sb_EntityMapping" ("EntityId");
      `,
      );
    },
  },
];

/** Sandbox metadata: who owns which sandbox file, where it is stored, which jobs use it. */
export class SandboxMetadataDB extends BaseSQLDB<SandboxMetadataDBSchema> {
  static override readonly dbName: string = "SandboxMetadataDB";
  static override readonly migrations: readonly Migration[] = migrations;

  /** `/S3/<bucket>/<vo>/<group>/<user>/<algo>:<checksum>.<format>` */
  static pfn(bucket: string, owner: SandboxOwner, info: SandboxInfo): string {
    return `/S3/${bucket}/${owner.vo}/${owner.ownerGroup}/${owner.owner}/${info.checksumAlgorithm}:${info.checksum}.${info.format}`;
  }

  /** The S3 key of a stored PFN (everything after `/S3/<bucket>/`). */
  static s3Key(pfn: string): string {
    return pfn.split("/").slice(3).join("/");
  }

  async getOwnerId(owner: SandboxOwner): Promise<number | undefined> {
    const r = await this.db
      .selectFrom("sb_Owners")
      .select("OwnerID")
      .where("Owner", "=", owner.owner)
      .where("OwnerGroup", "=", owner.ownerGroup)
      .where("VO", "=", owner.vo)
      .executeTakeFirst();
    return r?.OwnerID;
  }

  /** The owner's id, inserting the owner if new (safe under concurrency). */
  async insertOwner(owner: SandboxOwner): Promise<number> {
    const r = await this.db
      .insertInto("sb_Owners")
      .values({ Owner: owner.owner, OwnerGroup: owner.ownerGroup, VO: owner.vo })
      .onConflict((oc) => oc.columns(["Owner", "OwnerGroup", "VO"]).doUpdateSet((eb) => ({ Owner: eb.ref("excluded.Owner") })))
      .returning("OwnerID")
      .executeTakeFirstOrThrow();
    return r.OwnerID;
  }

  async getSandboxOwnerId(pfn: string, seName: string): Promise<number | undefined> {
    const r = await this.db.selectFrom("sb_SandBoxes").select("OwnerId").where("SEName", "=", seName).where("SEPFN", "=", pfn).executeTakeFirst();
    return r?.OwnerId;
  }

  async insertSandbox(seName: string, owner: SandboxOwner, pfn: string, bytes: number): Promise<number> {
    const ownerId = await this.insertOwner(owner);
    try {
      const r = await this.db
        .insertInto("sb_SandBoxes")
        .values({ OwnerId: ownerId, SEName: seName, SEPFN: pfn, Bytes: bytes, Assigned: false })
        .returning("SBId")
        .executeTakeFirstOrThrow();
      return r.SBId;
    } catch (err) {
      if (err instanceof DBQueryError && err.isUniqueViolation) throw new AlreadyExistsError(`sandbox ${seName}|${pfn} is already registered`, { cause: err });
      throw err;
    }
  }

  async updateSandboxLastAccessTime(seName: string, pfn: string, at: Date = new Date()): Promise<void> {
    const r = await this.db.updateTable("sb_SandBoxes").set({ LastAccessTime: at }).where("SEName", "=", seName).where("SEPFN", "=", pfn).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new NotFoundError(`sandbox ${seName}|${pfn} not found`);
  }

  async sandboxIsAssigned(pfn: string, seName: string): Promise<boolean> {
    const r = await this.db.selectFrom("sb_SandBoxes").select("Assigned").where("SEName", "=", seName).where("SEPFN", "=", pfn).executeTakeFirst();
    if (!r) throw new NotFoundError(`sandbox ${seName}|${pfn} not found`);
    return r.Assigned;
  }

  /** `SB:<se>|<pfn>` of the sandboxes of a job of this type. */
  async getSandboxAssignedToJob(jobId: number, type: SandboxType): Promise<string[]> {
    const rows = await this.db
      .selectFrom("sb_EntityMapping as m")
      .innerJoin("sb_SandBoxes as s", "s.SBId", "m.SBId")
      .select(["s.SEName", "s.SEPFN"])
      .where("m.EntityId", "=", entityId(jobId))
      .where("m.Type", "=", type)
      .orderBy("s.SBId")
      .execute();
    return rows.map((r) => `SB:${r.SEName}|${r.SEPFN}`);
  }

  /** Maps one sandbox to many jobs (INSERT … SELECT) and marks it assigned. */
  async assignSandboxToJobs(jobIds: readonly number[], pfn: string, type: SandboxType, seName: string): Promise<void> {
    if (jobIds.length === 0) return;
    const entities = jobIds.map(entityId);
    let inserted: number;
    try {
      const res = await sql`
        INSERT INTO "sb_EntityMapping" ("SBId", "EntityId", "Type")
        SELECT s."SBId", e.entity, ${type}::varchar FROM "sb_SandBoxes" s, unnest(${entities}::varchar[]) AS e(entity)
        WHERE s."SEName" = ${seName} AND s."SEPFN" = ${pfn}`.execute(this.db);
      inserted = Number(res.numAffectedRows ?? 0n);
    } catch (err) {
      if (err instanceof DBQueryError && err.isUniqueViolation) throw new AlreadyExistsError(`sandbox ${seName}|${pfn} is already assigned to one of jobs ${jobIds.join(", ")}`, { cause: err });
      throw err;
    }
    if (inserted === 0) throw new NotFoundError(`sandbox ${seName}|${pfn} not found`);
    await this.db.updateTable("sb_SandBoxes").set({ Assigned: true }).where("SEName", "=", seName).where("SEPFN", "=", pfn).execute();
  }

  /** Removes the jobs' mappings; sandboxes left with no mapping become unassigned. */
  async unassignSandboxesToJobs(jobIds: readonly number[]): Promise<void> {
    if (jobIds.length === 0) return;
    const removed = await this.db.deleteFrom("sb_EntityMapping").where("EntityId", "in", jobIds.map(entityId)).returning("SBId").execute();
    const sbIds = [...new Set(removed.map((r) => r.SBId))];
    if (sbIds.length === 0) return;
    await this.db
      .updateTable("sb_SandBoxes")
      .set({ Assigned: false })
      .where("SBId", "in", sbIds)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom("sb_EntityMapping").select("SBId").whereRef("sb_EntityMapping.SBId", "=", "sb_SandBoxes.SBId"))))
      .execute();
  }

  /**
   * The next batch of sandboxes to delete from `seName`, after `cursor`: orphans
   * (assigned but no mapping left) and unassigned sandboxes not accessed for
   * `unusedDays`; only S3-stored PFNs. One query ordered by SBId, so the returned
   * cursor never skips a candidate (upstream's two LIMITed queries could).
   */
  async selectSandboxesForDeletion(opts: { seName: string; batchSize?: number; cursor?: number; unusedDays?: number; now?: Date }): Promise<SandboxDeletionBatch> {
    const batchSize = opts.batchSize ?? 500;
    const cursor = opts.cursor ?? 0;
    const cutoff = new Date((opts.now ?? new Date()).getTime() - (opts.unusedDays ?? 15) * 86_400_000);
    const rows = await this.db
      .selectFrom("sb_SandBoxes as s")
      .select(["s.SBId", "s.SEPFN"])
      .where("s.SEName", "=", opts.seName)
      .where("s.SEPFN", "like", "/S3/%")
      .where("s.SBId", ">", cursor)
      .where(({ and, or, not, exists, selectFrom, eb }) =>
        or([
          and([eb("s.Assigned", "=", true), not(exists(selectFrom("sb_EntityMapping as m").select("m.SBId").whereRef("m.SBId", "=", "s.SBId")))]),
          and([eb("s.Assigned", "=", false), eb("s.LastAccessTime", "<", cutoff)]),
        ]),
      )
      .orderBy("s.SBId")
      .limit(batchSize)
      .execute();
    return { ids: rows.map((r) => r.SBId), pfns: rows.map((r) => r.SEPFN), cursor: rows.at(-1)?.SBId ?? cursor };
  }

  async deleteSandboxes(sbIds: readonly number[]): Promise<number> {
    if (sbIds.length === 0) return 0;
    const res = await this.db.deleteFrom("sb_SandBoxes").where("SBId", "in", [...sbIds]).executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
