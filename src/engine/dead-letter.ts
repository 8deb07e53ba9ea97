/**
 * The dead-letter queue's write path and resubmission.
 *
 * A dlqEligible task's final failure is written through: straight to TaskDB when
 * the worker has it configured and it answers, so a broker wipe cannot lose it.
 * Only when TaskDB does not answer (or is not configured) does the entry go to a
 * Redis outbox (one HSET, in the same step as the worker handles the failure),
 * from which a drainer copies it into TaskDB and deletes it only after the insert
 * committed; a wipe during a database outage loses what waits there. The database may be down for a while: the entry waits in the
 * outbox, the drainer retries with backoff and logs loudly, and a restarted
 * worker drains what its predecessor left. Outbox fields are keyed by task id
 * and attempt count, so a failure handled twice (a worker killed between the
 * HSET and BullMQ's own bookkeeping) collapses into one entry, and the insert
 * checks for an existing row so a drainer killed between commit and HDEL does
 * not insert it twice. Upstream stored no error text and never read the table.
 */
import { randomUUID } from "node:crypto";
import type { BrokerConnection } from "../redis-cluster.ts";
import type { Logger } from "pino";
import { DiracxError } from "../errors.ts";
import { logger as rootLogger } from "../logging.ts";
import { configuredDbUrl } from "../db/sql/base.ts";
import { getEngine } from "../db/sql/engine.ts";
import { TaskDB, type AttemptError, type DeadLetter, type JsonValue, type NewDeadLetter } from "../db/sql/task-db.ts";
import { errorRecord, type TaskJobData } from "./job-data.ts";
import { DEFAULT_MAX_PAYLOAD_BYTES, deadLetterArgs, payloadBytes } from "./job-validation.ts";
import { DLQ_OUTBOX_KEY } from "./keys.ts";
import type { SubmitOptions } from "./producer-types.ts";

/** Label a resubmitted task carries: the dead-letter id it came from. */
export const DLQ_ID_LABEL = "dlqId";

/** What goes through the outbox: a new dead letter, or "this resubmitted task succeeded". */
export type OutboxRecord =
  | { kind: "dead-letter"; entry: Omit<NewDeadLetter, "firstSubmittedAt"> & { firstSubmittedAt: string } }
  | { kind: "resolved"; taskId: string };

export class DeadLetterError extends DiracxError {}

/** The job as the dead-letter code needs it (a BullMQ Job fits). */
export interface FailedJob {
  id?: string | undefined;
  name: string;
  data: TaskJobData;
  /** When the job was created (a fresh task's data leaves its first submission to this). */
  timestamp?: number;
}

/**
 * The dead letter for a job whose attempt `attempt` just failed for good:
 * every attempt's error from the job's history (oldest first), the final one
 * with its stack from `finalError` itself. The job may be one the worker refused
 * (job-validation.ts), so nothing of its data is trusted: fields of the wrong type
 * are left out, arguments over the payload bound are replaced by a line saying so,
 * and strings are cut to what TaskDB's columns hold.
 */
export function deadLetterFor(job: FailedJob, attempt: number, finalError: unknown, maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES): NewDeadLetter {
  const data: unknown = job.data;
  const meta = (isObject(data) && isObject(data.meta) ? data.meta : {}) as Partial<TaskJobData["meta"]>;
  const errors: AttemptError[] = [];
  for (const rec of Array.isArray(meta.history) ? meta.history : []) {
    if (!isObject(rec) || rec.outcome !== "failed" || !isObject(rec.error) || rec.attempt === attempt || typeof rec.attempt !== "number") continue;
    errors.push({ attempt: rec.attempt, ...rec.error, at: new Date(typeof rec.startedAt === "number" ? rec.startedAt : Date.now()).toISOString() });
  }
  const final = errorRecord(finalError);
  errors.push({ attempt, ...final, type: final.type.slice(0, 255), at: new Date().toISOString() });
  const labels: Record<string, JsonValue> = {};
  if (isObject(meta.labels) && payloadBytes(meta.labels) <= MAX_LABELS_BYTES) {
    for (const [k, v] of Object.entries(meta.labels)) if (typeof v === "string") labels[k] = v;
  }
  if (typeof meta.parentTaskId === "string") labels.parentTaskId = meta.parentTaskId.slice(0, 255);
  // tracing hook: a resubmission copies the labels, so its attempts link back to this trace
  if (isObject(meta.trace) && typeof meta.trace.traceparent === "string") labels.traceparent = meta.trace.traceparent.slice(0, 255);
  const vo = typeof labels.vo === "string" ? labels.vo.slice(0, 64) : null;
  return {
    taskId: (job.id ?? "").slice(0, 255),
    taskName: job.name.slice(0, 255),
    args: deadLetterArgs(data, maxPayloadBytes) as JsonValue,
    labels,
    vo,
    firstSubmittedAt: new Date(typeof meta.firstSubmittedAt === "number" && Number.isFinite(meta.firstSubmittedAt) ? meta.firstSubmittedAt : (job.timestamp ?? Date.now())),
    attempts: attempt,
    errors,
  };
}

/** Labels of a refused job larger than this are not kept with its dead letter. */
const MAX_LABELS_BYTES = 16 * 1024;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function outboxField(rec: OutboxRecord): string {
  return rec.kind === "dead-letter" ? `dead-letter:${rec.entry.taskId}:${rec.entry.attempts}` : `resolved:${rec.taskId}`;
}

/** Durably queues a dead letter for TaskDB (needs only Redis). */
export async function pushDeadLetter(redis: BrokerConnection, entry: NewDeadLetter): Promise<void> {
  const rec: OutboxRecord = { kind: "dead-letter", entry: { ...entry, firstSubmittedAt: entry.firstSubmittedAt.toISOString() } };
  await redis.hset(DLQ_OUTBOX_KEY, outboxField(rec), JSON.stringify(rec));
}

/** Durably queues "resubmitted task `taskId` succeeded" for TaskDB. */
export async function pushResolution(redis: BrokerConnection, taskId: string): Promise<void> {
  const rec: OutboxRecord = { kind: "resolved", taskId };
  await redis.hset(DLQ_OUTBOX_KEY, outboxField(rec), JSON.stringify(rec));
}

/** Entries still waiting for TaskDB. */
export async function outboxSize(redis: BrokerConnection): Promise<number> {
  return redis.hlen(DLQ_OUTBOX_KEY);
}

/**
 * The outcome step's hooks (outcome.ts decides; these write): a final failure it decided to
 * dead-letter goes to the outbox; the success of a resubmitted task resolves its entry.
 */
export async function onFinalFailure(redis: BrokerConnection, job: FailedJob, attempt: number, error: unknown, drainer?: DeadLetterDrainer, maxPayloadBytes?: number): Promise<void> {
  const entry = deadLetterFor(job, attempt, error, maxPayloadBytes);
  // Written through: straight to TaskDB when it answers, so a broker wipe cannot lose it.
  if (drainer && (await drainer.writeThrough({ kind: "dead-letter", entry: { ...entry, firstSubmittedAt: entry.firstSubmittedAt.toISOString() } }))) return;
  await pushDeadLetter(redis, entry);
  drainer?.kick();
}

export async function onCompleted(redis: BrokerConnection, job: FailedJob, drainer?: DeadLetterDrainer): Promise<void> {
  if (!job.data.meta.labels[DLQ_ID_LABEL] || !job.id) return;
  if (drainer && (await drainer.writeThrough({ kind: "resolved", taskId: job.id }))) return;
  await pushResolution(redis, job.id);
  drainer?.kick();
}

export interface DrainerOptions {
  redis: BrokerConnection;
  /** TaskDB on its own engine (statements autocommit; each entry is one transaction). */
  taskDB: () => TaskDB;
  logger?: Logger;
  /** First retry delay after a failed write; doubles up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Entries read per HSCAN round. */
  batchSize?: number;
  /** How long a direct (write-through) TaskDB write may take before the entry goes to the outbox. */
  writeThroughTimeoutMs?: number;
}

/**
 * Copies the outbox into TaskDB until it is empty, retrying with backoff while
 * the database is unavailable. `kick()` asks for a pass now; a running pass
 * picks up entries added meanwhile.
 */
export class DeadLetterDrainer {
  private readonly opts: Required<Omit<DrainerOptions, "logger">>;
  private readonly log: Logger;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(opts: DrainerOptions) {
    this.opts = { baseDelayMs: 500, maxDelayMs: 30_000, batchSize: 100, writeThroughTimeoutMs: 5_000, ...opts };
    this.log = (opts.logger ?? rootLogger).child({ component: "dead-letter-drainer" });
  }

  /** Failed passes since the last successful one (0 = healthy). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /**
   * Writes `rec` to TaskDB now; false when it could not (the caller then puts it in the outbox).
   * While the drainer's last pass failed (TaskDB down) nothing is tried: the outbox it is.
   */
  async writeThrough(rec: OutboxRecord): Promise<boolean> {
    if (this.failures > 0 || this.stopped) return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadLetterError(`TaskDB did not answer within ${this.opts.writeThroughTimeoutMs} ms`)), this.opts.writeThroughTimeoutMs);
      });
      await Promise.race([this.write(rec), timeout]);
      return true;
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, "cannot write a dead-letter entry to TaskDB; it goes through the Redis outbox");
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drains what a previous process left, then whenever kicked. */
  start(): void {
    this.stopped = false;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) {
      // A retry is scheduled after a failure; a new entry does not shorten the backoff.
      return;
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.again && !this.timer) {
        this.again = false;
        this.kick();
      } else if (!this.timer) {
        for (const w of this.idleWaiters.splice(0)) w();
      }
    });
  }

  /** Resolves once the outbox was seen empty (tests, graceful shutdown). */
  async idle(): Promise<void> {
    if ((await outboxSize(this.opts.redis)) === 0 && !this.running) return;
    await new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      this.kick();
    });
  }

  private async pass(): Promise<void> {
    try {
      const written = await this.drainOnce();
      this.failures = 0;
      if (written > 0) this.log.info({ written }, "dead-letter entries committed to TaskDB");
    } catch (err) {
      this.failures += 1;
      const delay = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(this.failures - 1, 20));
      const pending = await outboxSize(this.opts.redis).catch(() => -1);
      // Loud on purpose: these are final failures nobody has seen yet.
      this.log.error(
        { err: err instanceof Error ? err.message : String(err), pending, retryInMs: delay, failures: this.failures },
        "cannot write dead-letter entries to TaskDB; they stay in the Redis outbox and will be retried",
      );
      if (!this.stopped) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.kick();
        }, delay);
        this.timer.unref?.();
      }
    }
  }

  /** One sweep over the outbox; returns how many records were committed. Throws on the first DB error. */
  async drainOnce(): Promise<number> {
    const { redis, batchSize } = this.opts;
    let cursor = "0";
    let written = 0;
    do {
      const [next, flat] = await redis.hscan(DLQ_OUTBOX_KEY, cursor, "COUNT", batchSize);
      cursor = next;
      for (let i = 0; i < flat.length; i += 2) {
        const field = flat[i]!;
        const raw = flat[i + 1]!;
        let rec: OutboxRecord;
        try {
          rec = JSON.parse(raw) as OutboxRecord;
        } catch {
          // Never drop silently: a corrupt record stays for an operator to see.
          this.log.error({ field }, "unreadable dead-letter outbox record; left in place");
          continue;
        }
        await this.write(rec);
        // Deleted only after the commit; a crash in between re-runs an idempotent write.
        await redis.hdel(DLQ_OUTBOX_KEY, field);
        written += 1;
      }
    } while (cursor !== "0");
    return written;
  }

  private async write(rec: OutboxRecord): Promise<void> {
    const db = this.opts.taskDB();
    if (rec.kind === "resolved") {
      await db.markResolved(rec.taskId);
      return;
    }
    await db.insertDeadLetterOnce({ ...rec.entry, firstSubmittedAt: new Date(rec.entry.firstSubmittedAt) });
  }
}

/** A drainer on TaskDB when DIRACX_DB_URL_TASKDB is set (else undefined: entries wait in the outbox). */
export function deadLetterDrainerFromEnv(redis: BrokerConnection, env: NodeJS.ProcessEnv = process.env, logger?: Logger): DeadLetterDrainer | undefined {
  // Read once, here at wiring; each drain opens TaskDB on that URL (one engine per URL).
  const url = configuredDbUrl(TaskDB.dbName, env);
  if (!url) return undefined;
  return new DeadLetterDrainer({ redis, taskDB: () => new TaskDB(getEngine(url)), ...(logger ? { logger } : {}) });
}

/** `{ deadLetters }` for TaskWorkerOptions when TaskDB is configured, else `{}`. */
export function deadLetterOption(redis: BrokerConnection, env: NodeJS.ProcessEnv = process.env): { deadLetters?: DeadLetterDrainer } {
  const drainer = deadLetterDrainerFromEnv(redis, env);
  return drainer ? { deadLetters: drainer } : {};
}

export interface DeadLetterSummary {
  /** Pending entries in TaskDB; undefined when DIRACX_DB_URL_TASKDB is not set. */
  pending: number | undefined;
  /** Entries not yet written to TaskDB. */
  outbox: number;
}

/**
 * For `status`: pending dead letters, and how many still wait in the outbox. `taskDB` is the
 * caller's (on Engine.taskDbUrl, read at wiring; undefined when TaskDB is not configured): a
 * command closes its engine when done, a server keeps it.
 */
export async function deadLetterSummary(redis: BrokerConnection, taskDB: Pick<TaskDB, "count"> | undefined): Promise<DeadLetterSummary> {
  const outbox = await outboxSize(redis);
  if (!taskDB) return { pending: undefined, outbox };
  return { pending: await taskDB.count({ status: "pending" }), outbox };
}

/** What resubmission needs from the producer. */
export interface DeadLetterSubmitter {
  submit(task: string, args: unknown, opts?: SubmitOptions): Promise<string>;
}

export type ResubmitResult = { id: number; ok: true; taskId: string } | { id: number; ok: false; reason: string };

/**
 * Resubmits one entry. The conditional status update is the claim (made with
 * the new task id before enqueueing), so two operators — or `--all` run twice —
 * never resubmit an entry twice; if enqueueing fails the claim is undone.
 */
export async function resubmitDeadLetter(taskDB: TaskDB, producer: DeadLetterSubmitter, entry: DeadLetter): Promise<ResubmitResult> {
  if (entry.status !== "pending") return { id: entry.id, ok: false, reason: `entry ${entry.id} is ${entry.status}, not pending` };
  const taskId = randomUUID();
  if (!(await taskDB.markResubmitted(entry.id, taskId))) {
    return { id: entry.id, ok: false, reason: `entry ${entry.id} was already resubmitted or closed` };
  }
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry.labels)) if (k !== "parentTaskId" && k !== DLQ_ID_LABEL) labels[k] = typeof v === "string" ? v : JSON.stringify(v);
  labels[DLQ_ID_LABEL] = String(entry.id);
  try {
    await producer.submit(entry.taskName, entry.args, { taskId, labels });
  } catch (err) {
    await taskDB.undoResubmission(entry.id, taskId);
    return { id: entry.id, ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
  return { id: entry.id, ok: true, taskId };
}

/** `2d`, `12h`, `30m`, `45s`, `1w` → milliseconds. */
export function parseAge(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new DeadLetterError(`invalid age '${text}' (expected a number and a unit: 45s, 30m, 12h, 2d, 1w)`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as "s" | "m" | "h" | "d" | "w"];
  return Number(m[1]) * unit;
}
