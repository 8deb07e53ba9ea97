// The lollygag example tasks: a reactive task with retries, a dead-letter queue and a lock of
// the extension's own type; a periodic task; a per-VO periodic task.
import { sql } from "kysely";
import {
  CronSchedule,
  ExponentialBackoff,
  IntervalSchedule,
  MutexLock,
  defineTask,
  definePeriodicTask,
  definePeriodicVoAwareTask,
  depsOf,
  z,
  type ContextOf,
  type Lock,
} from "diracx-tasks";
import { LollygagDB } from "../db/lollygag-db.ts";
import { LOLLYGAG } from "../lock-types.ts";

/** Makes sure an owner exists (idempotent: delivery is at-least-once); returns its id. */
export class SyncOwnersTask extends defineTask({
  args: z.object({ ownerName: z.string().min(1).max(255) }),
  dependencies: { lollygagDB: LollygagDB },
  priority: "normal",
  size: "small",
  retryPolicy: new ExponentialBackoff({ baseDelaySeconds: 5, maxRetries: 3 }),
  dlqEligible: true,
}) {
  override locks(): Lock[] {
    return [new MutexLock(LOLLYGAG, this.args.ownerName)];
  }

  async execute(ctx: ContextOf<typeof SyncOwnersTask>): Promise<number> {
    const { lollygagDB } = depsOf(SyncOwnersTask, ctx);
    const existing = await lollygagDB.db.selectFrom("Owners").select("OwnerID").where("Name", "=", this.args.ownerName).orderBy("OwnerID").executeTakeFirst();
    return existing?.OwnerID ?? lollygagDB.insertOwner(this.args.ownerName);
  }
}

/**
 * Hourly: merges owners registered twice under one name (the router's insert is not
 * idempotent), moving their cars to the oldest record. Returns how many records were merged.
 */
export class OwnerCleanupTask extends definePeriodicTask({
  dependencies: { lollygagDB: LollygagDB },
  schedule: new IntervalSchedule(3600),
}) {
  async execute(ctx: ContextOf<typeof OwnerCleanupTask>): Promise<number> {
    const { lollygagDB } = depsOf(OwnerCleanupTask, ctx);
    await sql`
      UPDATE "Cars" c SET "OwnerID" = keep.id
      FROM "Owners" o, (SELECT "Name", min("OwnerID") AS id FROM "Owners" GROUP BY "Name") keep
      WHERE c."OwnerID" = o."OwnerID" AND o."Name" = keep."Name" AND o."OwnerID" <> keep.id`.execute(lollygagDB.db);
    const res = await sql`
      DELETE FROM "Owners" o USING (SELECT "Name", min("OwnerID") AS id FROM "Owners" GROUP BY "Name") keep
      WHERE o."Name" = keep."Name" AND o."OwnerID" <> keep.id`.execute(lollygagDB.db);
    const merged = Number(res.numAffectedRows ?? 0n);
    if (merged) ctx.logger.info({ merged }, "duplicate owners merged");
    return merged;
  }
}

export interface OwnerReport {
  vo: string;
  owners: string[];
  carsByModel: Record<string, number>;
}

/** Daily at 06:00, once per VO. */
export class OwnerReportTask extends definePeriodicVoAwareTask({
  dependencies: { lollygagDB: LollygagDB },
  schedule: new CronSchedule("0 6 * * *"),
}) {
  async execute(ctx: ContextOf<typeof OwnerReportTask>): Promise<OwnerReport> {
    const { lollygagDB } = depsOf(OwnerReportTask, ctx);
    return { vo: this.args.vo, owners: await lollygagDB.getOwners(), carsByModel: await lollygagDB.summary() };
  }
}
