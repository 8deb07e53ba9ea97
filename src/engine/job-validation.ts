/**
 * The worker does not trust the queue. Anyone with access to Redis can put a job on a task
 * queue (a Python DiracX router using BullMQ's Python client, a bug, an attacker), so before a
 * job is executed the worker checks, in this order: the task id is registered (the worker's
 * own check), the job data has the documented shape (`jobDataSchema`, version
 * `JOB_DATA_VERSION`, published as docs/job-data.schema.json), and the arguments pass the
 * task's own schema (unknown keys refused) within the payload bound. A job that fails is
 * invalid for good: no retry could fix it, so the outcome step fails it at once and
 * dead-letters it with the validation error as its reason.
 *
 * One zod schema is the source of both the check and the JSON Schema other producers read
 * (`jobDataJsonSchema()`, `npm run docs:job-data-schema`); a test keeps the file current.
 */
import { UnrecoverableError, Worker, type Job, type JobJson } from "bullmq";
import { z, ZodObject } from "zod";
import { DiracxError } from "../errors.ts";
import { appendHistory, errorRecord, type StoredTaskJobData, type TaskJobData, type TaskJobMeta } from "./job-data.ts";
import type { TaskClass } from "./task.ts";

/** Version of the job data layout this worker reads and the producer writes (`v`). */
export const JOB_DATA_VERSION = 1;

/** Default bound on a task's JSON-encoded arguments (DIRACX_TASKS_MAX_PAYLOAD_BYTES). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

const errorSchema = z.object({ type: z.string(), message: z.string(), stack: z.string().optional() });

const attemptSchema = z.object({
  attempt: z.int().positive(),
  startedAt: z.number().describe("ms since epoch"),
  durationMs: z.number().nonnegative(),
  outcome: z.enum(["completed", "failed", "requeued"]),
  error: errorSchema.optional(),
});

const deferralSchema = z.object({
  at: z.number().describe("ms since epoch"),
  blockedBy: z.string(),
  retryAfterMs: z.number().nonnegative(),
  delayMs: z.number().nonnegative(),
});

/**
 * `meta` is open (fields it does not know are kept, not refused), so a worker of the previous
 * release reads the jobs of the next one during a rolling upgrade; a change that older workers
 * must not read bumps `v` instead.
 */
const metaSchema = z.looseObject({
  firstSubmittedAt: z.number().optional().describe("ms since epoch of the first submission; absent: the job's own timestamp"),
  parentTaskId: z.string().optional(),
  labels: z.record(z.string(), z.string()).default({}).describe("free-form labels (vo, schedule, fanoutGroup, dlqId, ...)"),
  deferrals: z.int().nonnegative().default(0).describe("times the task was put back because a lock was busy"),
  deferralLog: z.array(deferralSchema).optional(),
  history: z.array(attemptSchema).default([]).describe("failed or requeued attempts, oldest first (the worker appends)"),
  deferredSince: z.number().optional(),
  trace: z.object({ traceparent: z.string(), tracestate: z.string().optional() }).optional().describe("W3C trace context of the task's creation"),
});

const fanoutSchema = z.object({
  groupId: z.string(),
  requireAllSuccess: z.boolean(),
  children: z.array(z.tuple([z.string(), z.string()])).describe("[taskId, task] per child, in spawn order"),
});

/** The data of every task job (the job NAME is the task id, the job ID the task's unique id). */
export const jobDataSchema = z
  .strictObject({
    v: z.literal(JOB_DATA_VERSION).optional().describe(`layout version; absent means ${JOB_DATA_VERSION}`),
    args: z.record(z.string(), z.unknown()).describe("the task's arguments, checked against the task's own schema (unknown keys refused)"),
    meta: metaSchema.optional().describe("the task's record; absent (a fresh task): no labels, no deferrals, no history, first submitted at the job's timestamp"),
    fanout: fanoutSchema.optional().describe("set on the callback of a fan-out group"),
  })
  .meta({
    title: "diracx-tasks job data",
    description: "The `data` of a BullMQ job on a diracx-tasks queue ({diracx}:tasks-<size>); the job name is the task id (<category>:<Class>).",
  });

// The schema and the engine's types describe the same thing.
type Parsed = z.output<typeof jobDataSchema>;
const _sameShape: (p: Parsed) => StoredTaskJobData = (p) => p;
void _sameShape;

/** The defaults of a fresh task's meta (what a producer may leave out), first submitted at `timestamp`. */
function freshMeta(timestamp: number): TaskJobMeta {
  return { firstSubmittedAt: timestamp, labels: {}, deferrals: 0, history: [] };
}

/** Stored job data, valid by the schema, with what it left out filled in (`timestamp`: the job's). */
function withDefaults(d: Parsed, timestamp: number): TaskJobData {
  if (!d.meta) return { ...d, meta: freshMeta(timestamp) };
  if (d.meta.firstSubmittedAt !== undefined) return d as TaskJobData;
  return { ...d, meta: { ...d.meta, firstSubmittedAt: timestamp } };
}

/** The JSON Schema of the job data (written to docs/job-data.schema.json). */
export function jobDataJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(jobDataSchema, { io: "input", target: "draft-2020-12" }) as Record<string, unknown>;
  return { $id: "https://diracx.invalid/tasks/job-data.schema.json", ...schema };
}

export class InvalidTaskArgsError extends DiracxError {}

/** Arguments larger than the payload bound (HTTP: 413). */
export class PayloadTooLargeError extends InvalidTaskArgsError {
  override name = "PayloadTooLargeError";
}

/** A job that must not run: its data or arguments are not what the task accepts. Not retried. */
export class InvalidJobError extends UnrecoverableError {
  override name = "InvalidJobError";
}

/** UTF-8 size of `value` as JSON. */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "");
}

function kib(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

/** Refuses arguments over `maxBytes` (JSON, UTF-8); `knownMaxChars` skips encoding small ones. */
export function checkPayloadSize(id: string, args: unknown, maxBytes: number, knownMaxChars?: number): void {
  // A JS string of n UTF-16 units is at most 3n UTF-8 bytes: most payloads need no encoding.
  if (knownMaxChars !== undefined && knownMaxChars * 3 <= maxBytes) return;
  const bytes = payloadBytes(args);
  if (bytes > maxBytes) {
    throw new PayloadTooLargeError(`arguments of task '${id}' are ${kib(bytes)} (${bytes} bytes), over the ${kib(maxBytes)} bound (DIRACX_TASKS_MAX_PAYLOAD_BYTES); pass a reference (a file, a database id) instead`);
  }
}

/** Validates args against the task's schema; the error lists every bad path. */
export function validateArgs(id: string, cls: TaskClass, args: unknown): Record<string, unknown> {
  // zod strips unknown keys by default, which silently dropped a misspelt field; a schema that
  // sets its own policy (looseObject, strictObject, catchall) keeps it.
  const schema = cls.args as z.ZodType;
  const problems: string[] = [];
  if (schema instanceof ZodObject && schema.def.catchall === undefined && typeof args === "object" && args !== null && !Array.isArray(args)) {
    const unknown = Object.keys(args).filter((k) => !(k in schema.shape));
    if (unknown.length > 0) {
      const known = Object.keys(schema.shape);
      problems.push(`unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `'${k}'`).join(", ")} (fields: ${known.join(", ") || "none"})`);
    }
  }
  const result = schema.safeParse(args ?? {});
  if (!result.success) problems.push(issues(result.error));
  if (problems.length === 0 && result.success) return result.data as Record<string, unknown>;
  throw new InvalidTaskArgsError(`invalid arguments for task '${id}': ${problems.join("; ")}`);
}

function issues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message.replace(/^Invalid input: /, "")}`).join("; ");
}

/** What a job whose data was not JSON carries instead (the worker dead-letters it). */
export class UnparsableJobData {
  constructor(
    readonly raw: string,
    readonly reason: string,
  ) {}
}

/** UTF-16 length of a job's data as read from Redis (a cheap upper bound for the payload check), set by TaskBullWorker. */
const RAW_LENGTH = Symbol("diracx.rawDataLength");
type WithRawLength = { [RAW_LENGTH]?: number };

/**
 * BullMQ's worker, except that a job whose data is not JSON becomes a job carrying
 * `UnparsableJobData` instead of an exception in BullMQ's fetch loop (where the job would sit
 * active until its lock expired, again and again: a poison message nobody is told about).
 */
export class TaskBullWorker<D = TaskJobData> extends Worker<D> {
  protected override createJob(json: JobJson, jobId: string): Job<D> {
    let job: Job<D>;
    try {
      job = super.createJob(json, jobId);
    } catch (err) {
      const bad = new UnparsableJobData(typeof json.data === "string" ? json.data : String(json.data), err instanceof Error ? err.message : String(err));
      job = super.createJob({ ...json, data: "{}" }, jobId);
      (job as { data: unknown }).data = bad;
      return job;
    }
    if (typeof json.data === "string") (job as WithRawLength)[RAW_LENGTH] = json.data.length;
    return job;
  }
}

const TOP_KEYS = new Set(["v", "args", "meta"]);

function plainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The worker's hot path: data exactly as the producer writes it (no history or deferral log yet,
 * no fan-out) is accepted by this direct check, which gives what `jobDataSchema` and the
 * defaults would (a test holds the two together); anything else (undefined here) goes through
 * the schema. The zod parse of the whole layout costs more than the rest of the check together.
 */
export function commonShape(raw: Record<string, unknown>, timestamp: number): TaskJobData | undefined {
  for (const k in raw) if (!TOP_KEYS.has(k)) return undefined;
  const { v, args, meta } = raw;
  if ((v !== undefined && v !== JOB_DATA_VERSION) || !plainObject(args)) return undefined;
  if (meta === undefined) return { ...(raw as unknown as TaskJobData), meta: freshMeta(timestamp) };
  if (!plainObject(meta)) return undefined;
  const { firstSubmittedAt } = meta;
  if (firstSubmittedAt !== undefined && (typeof firstSubmittedAt !== "number" || !Number.isFinite(firstSubmittedAt))) return undefined;
  if (meta.deferralLog !== undefined) return undefined;
  const { trace } = meta;
  if (trace !== undefined) {
    if (!plainObject(trace) || typeof trace.traceparent !== "string" || (trace.tracestate !== undefined && typeof trace.tracestate !== "string")) return undefined;
    for (const k in trace) if (k !== "traceparent" && k !== "tracestate") return undefined;
  }
  if (meta.parentTaskId !== undefined && typeof meta.parentTaskId !== "string") return undefined;
  if (meta.deferredSince !== undefined && (typeof meta.deferredSince !== "number" || !Number.isFinite(meta.deferredSince))) return undefined;
  const { labels, deferrals, history } = meta;
  if (labels !== undefined) {
    if (!plainObject(labels)) return undefined;
    for (const k in labels) if (typeof labels[k] !== "string") return undefined;
  }
  if (deferrals !== undefined && !(Number.isSafeInteger(deferrals) && (deferrals as number) >= 0)) return undefined;
  if (history !== undefined && !(Array.isArray(history) && history.length === 0)) return undefined;
  if (firstSubmittedAt !== undefined && labels !== undefined && deferrals !== undefined && history !== undefined) return raw as unknown as TaskJobData;
  return {
    ...(raw as unknown as TaskJobData),
    meta: { ...(meta as unknown as TaskJobMeta), firstSubmittedAt: (firstSubmittedAt ?? timestamp) as number, labels: (labels ?? {}) as Record<string, string>, deferrals: (deferrals ?? 0) as number, history: [] },
  };
}

/**
 * A job's stored data as the worker works with it (defaults filled in, `timestamp` the job's),
 * or the schema's complaint. The one reader of the layout: the worker's check and the outcome
 * step of a job the worker never ran both go through it.
 */
export function readJobData(raw: Record<string, unknown>, timestamp: number): { ok: true; data: TaskJobData } | { ok: false; issues: string } {
  const data = commonShape(raw, timestamp);
  if (data) return { ok: true, data };
  const parsed = jobDataSchema.safeParse(raw);
  return parsed.success ? { ok: true, data: withDefaults(parsed.data, timestamp) } : { ok: false, issues: issues(parsed.error) };
}

export type JobCheck = { ok: true; data: TaskJobData } | { ok: false; error: InvalidJobError };

/** Checks a job the worker is about to run (its task id is registered as `cls`). */
export function checkJob(job: Pick<Job, "name" | "data" | "timestamp">, cls: TaskClass, maxPayloadBytes: number): JobCheck {
  const id = job.name;
  const fail = (message: string): JobCheck => ({ ok: false, error: new InvalidJobError(`invalid job for task '${id}': ${message}`) });
  const raw: unknown = job.data;
  if (raw instanceof UnparsableJobData) return fail(`data is not JSON (${raw.reason})`);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return fail(`data must be a JSON object, got ${raw === null ? "null" : Array.isArray(raw) ? "an array" : typeof raw}`);
  const v = (raw as { v?: unknown }).v;
  if (v !== undefined && v !== JOB_DATA_VERSION) return fail(`unsupported job data version ${JSON.stringify(v)} (this worker reads version ${JOB_DATA_VERSION})`);
  const read = readJobData(raw as Record<string, unknown>, job.timestamp);
  if (!read.ok) return fail(`data does not match the job data schema (docs/job-data.schema.json): ${read.issues}`);
  const { data } = read;
  try {
    checkPayloadSize(id, data.args, maxPayloadBytes, (job as WithRawLength)[RAW_LENGTH]);
    const args = validateArgs(id, cls, data.args);
    return { ok: true, data: args === data.args ? data : { ...data, args } };
  } catch (err) {
    return fail((err as Error).message);
  }
}

/**
 * The arguments a dead letter keeps of a job that may be invalid: as they were when they are
 * a JSON value within the bound, else a line saying what they were (never megabytes of them).
 */
export function deadLetterArgs(data: unknown, maxBytes: number): unknown {
  if (data instanceof UnparsableJobData) {
    return `[job data was not JSON: ${data.raw.length} characters, starting ${JSON.stringify(data.raw.slice(0, 200))}]`;
  }
  const args = typeof data === "object" && data !== null ? (data as { args?: unknown }).args : undefined;
  if (args === undefined) return null;
  const bytes = payloadBytes(args);
  return bytes > maxBytes ? `[arguments of ${bytes} bytes not kept: over the ${maxBytes}-byte bound]` : args;
}

/**
 * After an invalid job is dead-lettered, its data in Redis becomes a valid record of what
 * happened (`show`, the dashboard and BullMQ's own readers can load it again): its meta if that
 * was readable, empty arguments (the original ones, bounded, are in the dead letter) and the
 * refusal in its history.
 */
export async function refuseInvalidJob(job: Job<TaskJobData>, attempt: number, error: InvalidJobError): Promise<void> {
  const raw: unknown = job.data;
  const readable = metaSchema.safeParse(typeof raw === "object" && raw !== null ? (raw as { meta?: unknown }).meta : undefined);
  const meta = readable.success ? { ...readable.data, firstSubmittedAt: readable.data.firstSubmittedAt ?? job.timestamp } : freshMeta(job.timestamp);
  const rec = { attempt, startedAt: Date.now(), durationMs: 0, outcome: "failed" as const, error: errorRecord(error) };
  await job.updateData({ v: JOB_DATA_VERSION, args: {}, meta: appendHistory(meta, rec) });
}
