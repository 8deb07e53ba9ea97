import { sql, type ColumnType, type Generated, type Kysely } from "kysely";
import { InvalidQueryError } from "../errors.ts";
import { BaseSQLDB } from "./base.ts";
import { runScript, type Migration } from "./migrations.ts";

/** Operator lifecycle of a dead letter: pending → resubmitted → resolved, or discarded. */
export const DEAD_LETTER_STATUSES = ["pending", "resubmitted", "resolved", "discarded"] as const;
export type DeadLetterStatus = (typeof DEAD_LETTER_STATUSES)[number];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One failed attempt, as stored with the dead letter. */
export interface AttemptError {
  attempt: number;
  type: string;
  message: string;
  stack?: string;
  at: string;
}

type Json<T> = ColumnType<T, string, string>;

export interface DeadLetterTasksTable {
  id: Generated<number>;
  task_id: string;
  task_name: string;
  args: Json<JsonValue>;
  labels: Json<Record<string, JsonValue>>;
  vo: string | null;
  first_submitted_at: ColumnType<Date, Date, Date>;
  attempts: number;
  last_error_type: string | null;
  last_error_message: string | null;
  last_error_stack: string | null;
  errors: Json<AttemptError[]>;
  status: ColumnType<DeadLetterStatus, DeadLetterStatus | undefined, DeadLetterStatus>;
  created_at: ColumnType<Date, Date | undefined, Date>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  resubmitted_task_id: string | null;
}

export interface OperatorActionsTable {
  id: Generated<string>;
  at: Generated<Date>;
  sub: string;
  username: string;
  dirac_group: string;
  vo: string;
  action: string;
  target: string;
  detail: ColumnType<Record<string, JsonValue>, string, string>;
}

/** Tasks in one size queue at a snapshot: waiting per priority, and the rest per size. */
export interface QueueDepth {
  size: string;
  waiting: Record<string, number>;
  delayed: number;
  running: number;
  /** Fan-out callbacks waiting for their children. */
  waitingChildren: number;
}

/** Queue depths of the broker in one epoch, as last seen by a scheduler. */
export interface QueueSnapshot {
  epoch: string;
  takenAt: Date;
  depths: QueueDepth[];
  total: number;
}

/** A wiped broker, as the scheduler that found it fresh recorded it. */
export interface BrokerWipe {
  id: number;
  detectedAt: Date;
  /** The epoch of the fresh broker. */
  epoch: string;
  /** The epoch of the last snapshot before the wipe; null when there was none. */
  previousEpoch: string | null;
  snapshotAt: Date | null;
  /** What the last snapshot held: tasks lost, per size and priority (empty when unknown). */
  lost: QueueDepth[];
  /** null when no snapshot was taken before the wipe (the loss is unknown). */
  lostTotal: number | null;
}

export interface QueueSnapshotsTable {
  epoch: string;
  taken_at: ColumnType<Date, Date, Date>;
  depths: Json<QueueDepth[]>;
  total: number;
}

export interface BrokerWipesTable {
  id: Generated<number>;
  detected_at: ColumnType<Date, Date | undefined, Date>;
  epoch: string;
  previous_epoch: string | null;
  snapshot_at: ColumnType<Date | null, Date | null, Date | null>;
  lost: Json<QueueDepth[]>;
  lost_total: number | null;
}

export interface TaskDBSchema {
  dlq_tasks: DeadLetterTasksTable;
  operator_actions: OperatorActionsTable;
  queue_snapshots: QueueSnapshotsTable;
  broker_wipes: BrokerWipesTable;
}

/** One operator action (dashboard or API), from the token's identity. */
export interface OperatorAction {
  id: number;
  at: Date;
  sub: string;
  username: string;
  diracGroup: string;
  vo: string;
  action: string;
  target: string;
  detail: Record<string, JsonValue>;
}

export interface DeadLetter {
  id: number;
  taskId: string;
  taskName: string;
  args: JsonValue;
  labels: Record<string, JsonValue>;
  vo: string | null;
  firstSubmittedAt: Date;
  attempts: number;
  lastErrorType: string | null;
  lastErrorMessage: string | null;
  lastErrorStack: string | null;
  errors: AttemptError[];
  status: DeadLetterStatus;
  createdAt: Date;
  updatedAt: Date;
  resubmittedTaskId: string | null;
}

export interface NewDeadLetter {
  taskId: string;
  taskName: string;
  args: JsonValue;
  labels?: Record<string, JsonValue>;
  vo?: string | null;
  firstSubmittedAt: Date;
  attempts: number;
  /** Every attempt's error, oldest first; the last one is the final failure. */
  errors: readonly AttemptError[];
}

export interface DeadLetterFilter {
  taskName?: string;
  vo?: string;
  status?: DeadLetterStatus | readonly DeadLetterStatus[];
  /** Only entries created before this instant. */
  olderThan?: Date;
  /** Only entries created at or after this instant. */
  newerThan?: Date;
  /** Only entries whose arguments contain this JSON (jsonb containment, e.g. `{"job_id": 12}`). */
  argsContain?: JsonValue;
}

const migrations: Migration[] = [
  {
    version: 1,
    name: "create dead-letter queue",
    async up(db: Kysely<unknown>) {
      await runScript(
        db,
        `
        CREATE TABLE "dlq_tasks" (
          "id" bigserial PRIMARY KEY,
          "task_id" varchar(255) NOT NULL,
          "task_name" varchar(255) NOT NULL,
          "args" jsonb NOT NULL,
          "labels" jsonb NOT NULL DEFAULT '{}',
          "vo" varchar(64),
          "first_submitted_at" timestamptz NOT NULL,
          "attempts" integer NOT NULL,
          "last_error_type" varchar(255),
          "last_error_message" text,
          "last_error_stack" text,
          "errors" jsonb NOT NULL DEFAULT '[]',
          "status" varchar(16) NOT NULL DEFAULT 'pending' CHECK ("status" IN ('pending', 'resubmitted', 'resolved', 'discarded')),
          "created_at" timestamptz NOT NULL DEFAULT now(),
          "updated_at" timestamptz NOT NULL DEFAULT now(),
          "resubmitted_task_id" varchar(255)
        );
        CREATE INDEX "dlq_tasks_status" ON "dlq_tasks" ("status", "created_at");
        CREATE INDEX "dlq_tasks_task_name" ON "dlq_tasks" ("task_name");
        CREATE INDEX "dlq_tasks_task_id" ON "dlq_tasks" ("task_id");
        CREATE INDEX "dlq_tasks_resubmitted_task_id" ON "dlq_tasks" ("resubmitted_task_id");
      `,
      );
    },
  },
  {
    version: 2,
    name: "create operator audit log",
    async up(db: Kysely<unknown>) {
      await runScript(
        db,
        `
        CREATE TABLE "operator_actions" (
          "id" bigserial PRIMARY KEY,
          "at" timestamptz NOT NULL DEFAULT now(),
          "sub" varchar(255) NOT NULL,
          "username" varchar(255) NOT NULL,
          "dirac_group" varchar(255) NOT NULL,
          "vo" varchar(64) NOT NULL,
          "action" varchar(64) NOT NULL,
          "target" varchar(512) NOT NULL,
          "detail" jsonb NOT NULL DEFAULT '{}'
        );
        CREATE INDEX "operator_actions_at" ON "operator_actions" ("at");
        CREATE INDEX "operator_actions_vo" ON "operator_actions" ("vo", "at");
        CREATE INDEX "dlq_tasks_vo_status" ON "dlq_tasks" ("vo", "status", "created_at");
      `,
      );
    },
  },
  {
    version: 3,
    name: "queue snapshots and broker wipes",
    async up(db: Kysely<unknown>) {
      await runScript(
        db,
        `
        CREATE TABLE "queue_snapshots" (
          "epoch" varchar(255) PRIMARY KEY,
          "taken_at" timestamptz NOT NULL,
          "depths" jsonb NOT NULL,
          "total" integer NOT NULL
        );
        CREATE INDEX "queue_snapshots_taken_at" ON "queue_snapshots" ("taken_at");
        CREATE TABLE "broker_wipes" (
          "id" bigserial PRIMARY KEY,
          "detected_at" timestamptz NOT NULL DEFAULT now(),
          "epoch" varchar(255) NOT NULL UNIQUE,
          "previous_epoch" varchar(255),
          "snapshot_at" timestamptz,
          "lost" jsonb NOT NULL DEFAULT '[]',
          "lost_total" integer
        );
        CREATE INDEX "broker_wipes_detected_at" ON "broker_wipes" ("detected_at");
      `,
      );
    },
  },
];

/** Snapshots of this many epochs are kept (the latest one before a wipe is what counts). */
const SNAPSHOT_EPOCHS_KEPT = 10;

type Row = { [K in keyof DeadLetterTasksTable]: DeadLetterTasksTable[K] extends ColumnType<infer S, unknown, unknown> ? S : DeadLetterTasksTable[K] };

function toDeadLetter(r: Row): DeadLetter {
  return {
    id: Number(r.id),
    taskId: r.task_id,
    taskName: r.task_name,
    args: r.args,
    labels: r.labels,
    vo: r.vo,
    firstSubmittedAt: r.first_submitted_at,
    attempts: r.attempts,
    lastErrorType: r.last_error_type,
    lastErrorMessage: r.last_error_message,
    lastErrorStack: r.last_error_stack,
    errors: r.errors,
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    resubmittedTaskId: r.resubmitted_task_id,
  };
}

/**
 * The dead-letter queue: tasks that exhausted their retries, with every error, for operators to
 * resubmit or discard; the operators' audit log; and the scheduler's queue snapshots and the
 * broker wipes it found (how many tasks each one lost).
 */
export class TaskDB extends BaseSQLDB<TaskDBSchema> {
  static override readonly dbName: string = "TaskDB";
  static override readonly migrations: readonly Migration[] = migrations;

  async insertDeadLetter(entry: NewDeadLetter): Promise<number> {
    const last = entry.errors.at(-1);
    const r = await this.db
      .insertInto("dlq_tasks")
      .values({
        task_id: entry.taskId,
        task_name: entry.taskName,
        args: JSON.stringify(entry.args),
        labels: JSON.stringify(entry.labels ?? {}),
        vo: entry.vo ?? null,
        first_submitted_at: entry.firstSubmittedAt,
        attempts: entry.attempts,
        last_error_type: last?.type ?? null,
        last_error_message: last?.message ?? null,
        last_error_stack: last?.stack ?? null,
        errors: JSON.stringify(entry.errors),
        resubmitted_task_id: null,
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    return Number(r.id);
  }

  /**
   * Inserts the entry unless one for the same task and attempt count exists, in one
   * transaction: the outbox drainer may write an entry twice (killed between this commit and
   * its HDEL), and the copy must not become a second dead letter.
   */
  async insertDeadLetterOnce(entry: NewDeadLetter): Promise<number | undefined> {
    return this.transaction(async (tx) => {
      const existing = await tx.db.selectFrom("dlq_tasks").select("id").where("task_id", "=", entry.taskId).where("attempts", "=", entry.attempts).executeTakeFirst();
      return existing ? undefined : tx.insertDeadLetter(entry);
    });
  }

  private filtered(filter: DeadLetterFilter) {
    let q = this.db.selectFrom("dlq_tasks");
    if (filter.taskName !== undefined) q = q.where("task_name", "=", filter.taskName);
    if (filter.vo !== undefined) q = q.where("vo", "=", filter.vo);
    if (filter.status !== undefined) {
      const statuses: readonly DeadLetterStatus[] = typeof filter.status === "string" ? [filter.status] : filter.status;
      for (const s of statuses) {
        if (!DEAD_LETTER_STATUSES.includes(s)) throw new InvalidQueryError(`unknown dead-letter status '${s}' (known: ${DEAD_LETTER_STATUSES.join(", ")})`);
      }
      q = statuses.length ? q.where("status", "in", [...statuses]) : q.where(sql<boolean>`false`);
    }
    if (filter.olderThan) q = q.where("created_at", "<", filter.olderThan);
    if (filter.newerThan) q = q.where("created_at", ">=", filter.newerThan);
    if (filter.argsContain !== undefined) q = q.where(sql<boolean>`"args" @> ${JSON.stringify(filter.argsContain)}::jsonb`);
    return q;
  }

  /** Entries matching the filter, newest first. */
  async list(filter: DeadLetterFilter = {}, page: { limit?: number; offset?: number } = {}): Promise<DeadLetter[]> {
    const rows = await this.filtered(filter)
      .selectAll()
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(page.limit ?? 100)
      .offset(page.offset ?? 0)
      .execute();
    return rows.map((r) => toDeadLetter(r as Row));
  }

  /** Entries matching the filter per VO (`""` for entries without one). */
  async countByVo(filter: DeadLetterFilter = {}): Promise<Record<string, number>> {
    const rows = await this.filtered(filter)
      .select((eb) => ["vo", eb.fn.countAll<number>().as("n")])
      .groupBy("vo")
      .execute();
    return Object.fromEntries(rows.map((r) => [(r as { vo: string | null }).vo ?? "", Number((r as { n: number }).n)]));
  }

  /** Records who did what; the audit trail of operator actions. */
  async recordAction(a: Omit<OperatorAction, "id" | "at">): Promise<number> {
    const r = await this.db
      .insertInto("operator_actions")
      .values({ sub: a.sub, username: a.username, dirac_group: a.diracGroup, vo: a.vo, action: a.action, target: a.target, detail: JSON.stringify(a.detail) })
      .returning("id")
      .executeTakeFirstOrThrow();
    return Number(r.id);
  }

  /** Operator actions, newest first; with `vo`, only those of operators of that VO. */
  async listActions(opts: { vo?: string; limit?: number; offset?: number } = {}): Promise<OperatorAction[]> {
    let q = this.db.selectFrom("operator_actions").selectAll();
    if (opts.vo !== undefined) q = q.where("vo", "=", opts.vo);
    const rows = await q.orderBy("at", "desc").orderBy("id", "desc").limit(opts.limit ?? 100).offset(opts.offset ?? 0).execute();
    return rows.map((r) => ({ id: Number(r.id), at: r.at, sub: r.sub, username: r.username, diracGroup: r.dirac_group, vo: r.vo, action: r.action, target: r.target, detail: r.detail }));
  }

  async count(filter: DeadLetterFilter = {}): Promise<number> {
    const r = await this.filtered(filter).select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async get(id: number): Promise<DeadLetter | undefined> {
    const r = await this.db.selectFrom("dlq_tasks").selectAll().where("id", "=", id).executeTakeFirst();
    return r && toDeadLetter(r as Row);
  }

  /**
   * Marks a pending entry resubmitted as `newTaskId`. The conditional update is
   * the claim: of two operators resubmitting at once exactly one gets `true`.
   */
  async markResubmitted(id: number, newTaskId: string): Promise<boolean> {
    const r = await this.db
      .updateTable("dlq_tasks")
      .set({ status: "resubmitted", resubmitted_task_id: newTaskId, updated_at: new Date() })
      .where("id", "=", id)
      .where("status", "=", "pending")
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Undoes `markResubmitted(id, newTaskId)` when submitting the new task failed. */
  async undoResubmission(id: number, newTaskId: string): Promise<boolean> {
    const r = await this.db
      .updateTable("dlq_tasks")
      .set({ status: "pending", resubmitted_task_id: null, updated_at: new Date() })
      .where("id", "=", id)
      .where("resubmitted_task_id", "=", newTaskId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * A task succeeded: its entries (as the original task or as the resubmission)
   * that are still open become resolved. Returns how many.
   */
  async markResolved(taskId: string): Promise<number> {
    const r = await this.db
      .updateTable("dlq_tasks")
      .set({ status: "resolved", updated_at: new Date() })
      .where((eb) => eb.or([eb("resubmitted_task_id", "=", taskId), eb("task_id", "=", taskId)]))
      .where("status", "in", ["pending", "resubmitted"])
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** An operator gives up on an entry (kept for the record). */
  async markDiscarded(id: number): Promise<boolean> {
    const r = await this.db
      .updateTable("dlq_tasks")
      .set({ status: "discarded", updated_at: new Date() })
      .where("id", "=", id)
      .where("status", "in", ["pending", "resubmitted"])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Stores the queue depths of broker epoch `epoch` (one row per epoch, the latest reading). */
  async recordQueueSnapshot(epoch: string, depths: readonly QueueDepth[], takenAt: Date = new Date()): Promise<void> {
    const total = depths.reduce((n, d) => n + Object.values(d.waiting).reduce((a, b) => a + b, 0) + d.delayed + d.running + d.waitingChildren, 0);
    const row = { epoch, taken_at: takenAt, depths: JSON.stringify(depths), total };
    await this.db
      .insertInto("queue_snapshots")
      .values(row)
      .onConflict((oc) => oc.column("epoch").doUpdateSet({ taken_at: takenAt, depths: row.depths, total }))
      .execute();
    const keep = this.db.selectFrom("queue_snapshots").select("epoch").orderBy("taken_at", "desc").limit(SNAPSHOT_EPOCHS_KEPT);
    await this.db.deleteFrom("queue_snapshots").where("epoch", "not in", keep).execute();
  }

  /**
   * The latest snapshot of an epoch other than `epoch` whose loss no wipe has claimed yet: what
   * the broker held before it was found fresh in `epoch`.
   */
  async snapshotBefore(epoch: string): Promise<QueueSnapshot | undefined> {
    const claimed = this.db.selectFrom("broker_wipes").select("previous_epoch").where("previous_epoch", "is not", null);
    const r = await this.db
      .selectFrom("queue_snapshots")
      .selectAll()
      .where("epoch", "<>", epoch)
      .where("epoch", "not in", claimed as never)
      .orderBy("taken_at", "desc")
      .limit(1)
      .executeTakeFirst();
    return r && { epoch: r.epoch, takenAt: r.taken_at, depths: r.depths, total: r.total };
  }

  /** Records a wipe found in `wipe.epoch`; false when one was already recorded for that epoch. */
  async recordBrokerWipe(wipe: Omit<BrokerWipe, "id" | "detectedAt">): Promise<boolean> {
    const r = await this.db
      .insertInto("broker_wipes")
      .values({ epoch: wipe.epoch, previous_epoch: wipe.previousEpoch, snapshot_at: wipe.snapshotAt, lost: JSON.stringify(wipe.lost), lost_total: wipe.lostTotal })
      .onConflict((oc) => oc.column("epoch").doNothing())
      .returning("id")
      .executeTakeFirst();
    return r !== undefined;
  }

  /** The most recent broker wipes, newest first. */
  async brokerWipes(limit = 10): Promise<BrokerWipe[]> {
    const rows = await this.db.selectFrom("broker_wipes").selectAll().orderBy("detected_at", "desc").orderBy("id", "desc").limit(limit).execute();
    return rows.map((r) => ({
      id: Number(r.id),
      detectedAt: r.detected_at,
      epoch: r.epoch,
      previousEpoch: r.previous_epoch,
      snapshotAt: r.snapshot_at,
      lost: r.lost,
      lostTotal: r.lost_total === null ? null : Number(r.lost_total),
    }));
  }

  async delete(ids: readonly number[]): Promise<number> {
    if (ids.length === 0) return 0;
    const r = await this.db.deleteFrom("dlq_tasks").where("id", "in", [...ids]).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
