import { sql, type Generated, type Kysely } from "kysely";
import { BaseSQLDB } from "./base.ts";
import { runScript, type Migration } from "./migrations.ts";

export interface TaskQueuesTable {
  TQId: Generated<number>;
  Owner: string;
  OwnerGroup: string;
  VO: string;
  CPUTime: number;
  Priority: number;
  Enabled: boolean;
}

export interface TqJobsTable {
  TQId: number;
  JobId: number;
  Priority: number;
  RealPriority: number;
}

export interface TqValueTable {
  TQId: number;
  Value: string;
}

/** The multi-valued requirements of a task queue, each in its own tq_TQTo<X> table. */
export const TQ_MULTI_VALUE_FIELDS = ["Sites", "GridCEs", "BannedSites", "Platforms", "JobTypes", "Tags"] as const;
export type TqMultiValueField = (typeof TQ_MULTI_VALUE_FIELDS)[number];

export interface TaskQueueDBSchema {
  tq_TaskQueues: TaskQueuesTable;
  tq_Jobs: TqJobsTable;
  tq_TQToSites: TqValueTable;
  tq_TQToGridCEs: TqValueTable;
  tq_TQToBannedSites: TqValueTable;
  tq_TQToPlatforms: TqValueTable;
  tq_TQToJobTypes: TqValueTable;
  tq_TQToTags: TqValueTable;
}

/** What a task queue groups jobs by: identical requirements share one queue. */
export interface TaskQueueDefinition extends Partial<Record<TqMultiValueField, readonly string[]>> {
  Owner: string;
  OwnerGroup: string;
  VO: string;
  CPUTime: number;
}

export interface TaskQueueJob {
  jobId: number;
  /** The job's user priority. */
  priority: number;
  definition: TaskQueueDefinition;
}

export interface TaskQueueInfo extends Record<TqMultiValueField, string[]> {
  TQId: number;
  Priority: number;
  Jobs: number;
  Owner: string;
  OwnerGroup: string;
  VO: string;
  CPUTime: number;
  Enabled: boolean;
}

function valueTable(field: TqMultiValueField) {
  return `tq_TQTo${field}` as const;
}

function normalize(def: TaskQueueDefinition): Required<TaskQueueDefinition> {
  const out = { Owner: def.Owner, OwnerGroup: def.OwnerGroup, VO: def.VO, CPUTime: def.CPUTime } as Required<TaskQueueDefinition>;
  for (const f of TQ_MULTI_VALUE_FIELDS) (out as Record<string, unknown>)[f] = [...new Set(def[f] ?? [])].sort();
  return out;
}

function definitionKey(def: Required<TaskQueueDefinition>): string {
  return JSON.stringify([def.Owner, def.OwnerGroup, def.VO, def.CPUTime, ...TQ_MULTI_VALUE_FIELDS.map((f) => def[f])]);
}

const migrations: Migration[] = [
  {
    version: 1,
    name: "create TaskQueueDB tables",
    async up(db: Kysely<unknown>) {
      let script = `
        CREATE TABLE "tq_TaskQueues" (
          "TQId" serial PRIMARY KEY,
          "Owner" varchar(255) NOT NULL,
          "OwnerGroup" varchar(32) NOT NULL,
          "VO" varchar(32) NOT NULL,
          "CPUTime" bigint NOT NULL,
          "Priority" double precision NOT NULL DEFAULT 1,
          "Enabled" boolean NOT NULL DEFAULT true
        );
        CREATE INDEX "TQOwner" ON "tq_TaskQueues" ("Owner", "OwnerGroup", "CPUTime");
        CREATE TABLE "tq_Jobs" (
          "TQId" integer NOT NULL REFERENCES "tq_TaskQueues"("TQId") ON DELETE CASCADE,
          "JobId" integer NOT NULL,
          "Priority" integer NOT NULL,
          "RealPriority" double precision NOT NULL,
          PRIMARY KEY ("TQId", "JobId")
        );
        CREATE INDEX "TaskIndex" ON "tq_Jobs" ("TQId");
        CREATE INDEX "tq_JobsJobId" ON "tq_Jobs" ("JobId");
      `;
      for (const f of TQ_MULTI_VALUE_FIELDS) {
        const valueIndex = f === "Sites" ? "SitesIndex" : `${f}ValueIndex`;
        script += `
        CREATE TABLE "${valueTable(f)}" (
          "TQId" integer NOT NULL REFERENCES "tq_TaskQueues"("TQId") ON DELETE CASCADE,
          "Value" varchar(64) NOT NULL,
          PRIMARY KEY ("TQId", "Value")
        );
        CREATE INDEX "${f}TaskIndex" ON "${valueTable(f)}" ("TQId");
        CREATE INDEX "${valueIndex}" ON "${valueTable(f)}" ("Value");
        `;
      }
      await runScript(db, script);
    },
  },
];

/** Task queues: jobs grouped by identical requirements, with per-queue priorities (shares). */
export class TaskQueueDB extends BaseSQLDB<TaskQueueDBSchema> {
  static override readonly dbName: string = "TaskQueueDB";
  static override readonly migrations: readonly Migration[] = migrations;

  /**
   * The task queue with exactly this definition, created if none exists. A
   * transaction-scoped advisory lock on the definition stops two writers from
   * creating twin queues.
   */
  async findOrCreateTaskQueue(definition: TaskQueueDefinition): Promise<number> {
    const def = normalize(definition);
    const key = definitionKey(def);
    return this.transaction(async (tx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext('tq_TaskQueues'), hashtext(${key}))`.execute(tx.db);
      const arrays = TQ_MULTI_VALUE_FIELDS.map(
        (f) =>
          sql`COALESCE((SELECT array_agg(v."Value" ORDER BY v."Value") FROM ${sql.table(valueTable(f))} v WHERE v."TQId" = t."TQId"), '{}'::varchar[]) = ${def[f]}::varchar[]`,
      );
      const found = await sql<{ TQId: number }>`
        SELECT t."TQId" FROM "tq_TaskQueues" t
        WHERE t."Owner" = ${def.Owner} AND t."OwnerGroup" = ${def.OwnerGroup} AND t."VO" = ${def.VO} AND t."CPUTime" = ${def.CPUTime}
          AND ${sql.join(arrays, sql` AND `)}
        ORDER BY t."TQId" LIMIT 1`.execute(tx.db);
      if (found.rows[0]) return found.rows[0].TQId;
      const created = await tx.db
        .insertInto("tq_TaskQueues")
        .values({ Owner: def.Owner, OwnerGroup: def.OwnerGroup, VO: def.VO, CPUTime: def.CPUTime, Priority: 1, Enabled: true })
        .returning("TQId")
        .executeTakeFirstOrThrow();
      for (const f of TQ_MULTI_VALUE_FIELDS) {
        if (def[f].length) await tx.db.insertInto(valueTable(f)).values(def[f].map((Value) => ({ TQId: created.TQId, Value }))).execute();
      }
      return created.TQId;
    });
  }

  /**
   * Puts jobs in the task queues matching their requirements (created as needed),
   * moving any job already queued elsewhere. Returns `{jobId: TQId}`.
   */
  async insertJobs(jobs: readonly TaskQueueJob[]): Promise<Record<number, number>> {
    const out: Record<number, number> = {};
    if (jobs.length === 0) return out;
    return this.transaction(async (tx) => {
      const byKey = new Map<string, { def: TaskQueueDefinition; jobs: TaskQueueJob[] }>();
      for (const j of jobs) {
        const key = definitionKey(normalize(j.definition));
        const g = byKey.get(key) ?? { def: j.definition, jobs: [] };
        g.jobs.push(j);
        byKey.set(key, g);
      }
      const rows: TqJobsTable[] = [];
      for (const g of byKey.values()) {
        const tq = await tx.findOrCreateTaskQueue(g.def);
        for (const j of g.jobs) {
          out[j.jobId] = tq;
          rows.push({ TQId: tq, JobId: j.jobId, Priority: j.priority, RealPriority: j.priority });
        }
      }
      await tx.db.deleteFrom("tq_Jobs").where("JobId", "in", jobs.map((j) => j.jobId)).execute();
      await tx.db.insertInto("tq_Jobs").values(rows).execute();
      return out;
    });
  }

  /** Convenience for one job. */
  async insertJob(jobId: number, priority: number, definition: TaskQueueDefinition): Promise<number> {
    const r = await this.insertJobs([{ jobId, priority, definition }]);
    return r[jobId]!;
  }

  /** The distinct (TQId, Owner, OwnerGroup, VO) of the queues holding these jobs. */
  async getTqInfosForJobs(jobIds: readonly number[]): Promise<{ TQId: number; Owner: string; OwnerGroup: string; VO: string }[]> {
    if (jobIds.length === 0) return [];
    return this.db
      .selectFrom("tq_TaskQueues as t")
      .innerJoin("tq_Jobs as j", "j.TQId", "t.TQId")
      .select(["t.TQId", "t.Owner", "t.OwnerGroup", "t.VO"])
      .distinct()
      .where("j.JobId", "in", [...new Set(jobIds)])
      .orderBy("t.TQId")
      .execute();
  }

  async getOwnerForTaskQueue(tqId: number): Promise<{ Owner: string; OwnerGroup: string; VO: string } | undefined> {
    return this.db.selectFrom("tq_TaskQueues").select(["Owner", "OwnerGroup", "VO"]).where("TQId", "=", tqId).executeTakeFirst();
  }

  /** `{Owner: number of task queues}` within a group. */
  async getTaskQueueOwnersByGroup(group: string): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom("tq_TaskQueues")
      .select("Owner")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("OwnerGroup", "=", group)
      .groupBy("Owner")
      .execute();
    return Object.fromEntries(rows.map((r) => [r.Owner, Number(r.n)]));
  }

  /** `{TQId: average RealPriority of its jobs}` for a group (and owner); queues without jobs are absent. */
  async getTaskQueuePriorities(group: string, owner?: string): Promise<Record<number, number>> {
    let q = this.db
      .selectFrom("tq_TaskQueues as t")
      .innerJoin("tq_Jobs as j", "j.TQId", "t.TQId")
      .select("t.TQId")
      .select((eb) => eb.fn.avg<number>("j.RealPriority").as("p"))
      .where("t.OwnerGroup", "=", group)
      .groupBy("t.TQId");
    if (owner !== undefined) q = q.where("t.Owner", "=", owner);
    const rows = await q.execute();
    return Object.fromEntries(rows.map((r) => [r.TQId, Number(r.p)]));
  }

  /**
   * The ids of up to `limit` queued jobs above `afterJobId`, ascending: a keyset scan over every
   * queue entry (CleanTaskQueuesTask walks it to find entries whose job left Waiting).
   */
  async queuedJobIdsAfter(afterJobId: number, limit: number): Promise<number[]> {
    const rows = await this.db.selectFrom("tq_Jobs").select("JobId").where("JobId", ">", afterJobId).orderBy("JobId").limit(limit).execute();
    return rows.map((r) => r.JobId);
  }

  /** Up to `limit` queued jobs, highest queue priority first, then oldest job: what a matcher would pick. */
  async queuedJobs(limit: number): Promise<{ JobId: number; TQId: number }[]> {
    return this.db
      .selectFrom("tq_Jobs as j")
      .innerJoin("tq_TaskQueues as t", "t.TQId", "j.TQId")
      .select(["j.JobId", "j.TQId"])
      .where("t.Enabled", "=", true as never)
      .orderBy("t.Priority", "desc")
      .orderBy("j.JobId", "asc")
      .limit(limit)
      .execute();
  }

  /** Removes jobs from whatever queue holds them; returns how many were queued. */
  async removeJobs(jobIds: readonly number[]): Promise<number> {
    if (jobIds.length === 0) return 0;
    const res = await this.db.deleteFrom("tq_Jobs").where("JobId", "in", [...new Set(jobIds)]).executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /** True when the queue holds no job (upstream returned the opposite). */
  async isTaskQueueEmpty(tqId: number): Promise<boolean> {
    const row = await this.db.selectFrom("tq_Jobs").select("JobId").where("TQId", "=", tqId).limit(1).executeTakeFirst();
    return row === undefined;
  }

  async deleteTaskQueue(tqId: number): Promise<boolean> {
    const res = await this.db.deleteFrom("tq_TaskQueues").where("TQId", "=", tqId).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Deletes the enabled queues among `tqIds` that hold no job, in one statement; returns their ids. */
  async deleteEmptyTaskQueues(tqIds: readonly number[]): Promise<number[]> {
    if (tqIds.length === 0) return [];
    const rows = await this.db
      .deleteFrom("tq_TaskQueues")
      .where("TQId", "in", [...new Set(tqIds)])
      .where("Enabled", "=", true)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom("tq_Jobs").select("JobId").whereRef("tq_Jobs.TQId", "=", "tq_TaskQueues.TQId"))))
      .returning("TQId")
      .execute();
    return rows.map((r) => r.TQId).sort((a, b) => a - b);
  }

  async setPrioritiesForEntity(tqIds: readonly number[], priority: number): Promise<void> {
    if (tqIds.length === 0) return;
    await this.db.updateTable("tq_TaskQueues").set({ Priority: priority }).where("TQId", "in", [...tqIds]).execute();
  }

  /** Sets many queues' priorities in one statement: `{TQId: priority}`. */
  async setTaskQueuePriorities(priorities: Record<number, number>): Promise<void> {
    const entries = Object.entries(priorities);
    if (entries.length === 0) return;
    const values = sql.join(entries.map(([id, p]) => sql`(${Number(id)}::integer, ${p}::double precision)`));
    await sql`UPDATE "tq_TaskQueues" SET "Priority" = v.p FROM (VALUES ${values}) AS v(id, p) WHERE "tq_TaskQueues"."TQId" = v.id`.execute(this.db);
  }

  /**
   * Every queue (or those listed) with its job count and requirement lists. Queues
   * without jobs or without some requirement are included (upstream's inner joins dropped them).
   */
  async retrieveTaskQueues(tqIds?: readonly number[]): Promise<Record<number, TaskQueueInfo>> {
    if (tqIds && tqIds.length === 0) return {};
    const lists = TQ_MULTI_VALUE_FIELDS.map(
      (f) => sql`COALESCE((SELECT array_agg(v."Value" ORDER BY v."Value") FROM ${sql.table(valueTable(f))} v WHERE v."TQId" = t."TQId"), '{}'::varchar[]) AS ${sql.ref(f)}`,
    );
    const filter = tqIds ? sql`WHERE t."TQId" IN (${sql.join([...tqIds])})` : sql``;
    const res = await sql<TaskQueueInfo>`
      SELECT t."TQId", t."Priority", t."Owner", t."OwnerGroup", t."VO", t."CPUTime", t."Enabled",
             (SELECT count(*)::int FROM "tq_Jobs" j WHERE j."TQId" = t."TQId") AS "Jobs",
             ${sql.join(lists)}
      FROM "tq_TaskQueues" t ${filter} ORDER BY t."TQId"`.execute(this.db);
    return Object.fromEntries(res.rows.map((r) => [r.TQId, { ...r, CPUTime: Number(r.CPUTime) }]));
  }
}
