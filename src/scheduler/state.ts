import type { BrokerConnection } from "../redis-cluster.ts";
import type { Job } from "bullmq";
import { SCHEDULE_INDEX_KEY, scheduleKey } from "../redis-keys.ts";
import { formatSchedule } from "../schedule/index.ts";
import type { DesiredSchedule } from "./desired.ts";
import type { OutcomeHook } from "../engine/outcome.ts";
import type { TaskWorkerOptions } from "../engine/worker.ts";
import { diracxRepeatStrategy } from "./repeat-strategy.ts";

/** What one schedule's hash holds; every field a string in Redis. */
export interface ScheduleRecord {
  id: string;
  task: string;
  vo?: string;
  variant?: string;
  /** `cron:…`, `every:…s`, `rrule:…` (formatSchedule). */
  schedule: string;
  kind: string;
  /** JSON of the ScheduleSpec (what `resume` re-creates). */
  spec: string;
  queue: string;
  priority: string;
  /** JSON of the job template, so `trigger` works without the registry. */
  template: string;
  /** JSON of everything that, when changed, requires a new upsert. */
  fingerprint: string;
  paused: boolean;
  /** A reason this schedule is not running (invalid or exhausted), set by the reconcile. */
  problem?: string;
  lastRunAt?: number;
  lastFinishedAt?: number;
  lastOutcome?: "completed" | "failed";
  lastError?: string;
  lastJobId?: string;
}

export function fingerprintOf(d: DesiredSchedule): string {
  // The template's data is the args and labels (both derived from what is here), so only its options count.
  return JSON.stringify({ spec: d.spec, queue: d.queue, name: d.template.name, args: d.args, opts: d.template.opts });
}

function toFields(d: DesiredSchedule): Record<string, string> {
  return {
    id: d.id,
    task: d.taskId,
    vo: d.vo ?? "",
    variant: d.variant ?? "",
    schedule: formatSchedule(d.spec),
    kind: d.spec.kind,
    spec: JSON.stringify(d.spec),
    queue: d.queue,
    priority: d.priority,
    template: JSON.stringify(d.template),
    fingerprint: fingerprintOf(d),
  };
}

function fromFields(h: Record<string, string>): ScheduleRecord | undefined {
  if (!h.id) return undefined;
  const num = (v: string | undefined): number | undefined => (v ? Number(v) : undefined);
  return {
    id: h.id,
    task: h.task ?? "",
    ...(h.vo ? { vo: h.vo } : {}),
    ...(h.variant ? { variant: h.variant } : {}),
    schedule: h.schedule ?? "",
    kind: h.kind ?? "",
    spec: h.spec ?? "{}",
    queue: h.queue ?? "",
    priority: h.priority ?? "",
    template: h.template ?? "{}",
    fingerprint: h.fingerprint ?? "",
    paused: h.paused === "1",
    ...(h.problem ? { problem: h.problem } : {}),
    ...(h.lastRunAt ? { lastRunAt: num(h.lastRunAt)! } : {}),
    ...(h.lastFinishedAt ? { lastFinishedAt: num(h.lastFinishedAt)! } : {}),
    ...(h.lastOutcome === "completed" || h.lastOutcome === "failed" ? { lastOutcome: h.lastOutcome } : {}),
    ...(h.lastError ? { lastError: h.lastError } : {}),
    ...(h.lastJobId ? { lastJobId: h.lastJobId } : {}),
  };
}

/** Reads and writes the per-schedule hashes. */
export class ScheduleStore {
  constructor(private readonly redis: BrokerConnection) {}

  async get(id: string): Promise<ScheduleRecord | undefined> {
    return fromFields(await this.redis.hgetall(scheduleKey(id)));
  }

  async all(): Promise<ScheduleRecord[]> {
    const ids = (await this.redis.smembers(SCHEDULE_INDEX_KEY)).sort();
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(scheduleKey(id));
    const results = (await pipeline.exec()) ?? [];
    return results.flatMap(([, h]) => {
      const rec = fromFields((h ?? {}) as Record<string, string>);
      return rec ? [rec] : [];
    });
  }

  /** Describes the schedule; keeps its paused flag and run history. */
  async describe(d: DesiredSchedule, problem?: string): Promise<void> {
    const key = scheduleKey(d.id);
    const multi = this.redis.multi().sadd(SCHEDULE_INDEX_KEY, d.id).hset(key, toFields(d));
    if (problem) multi.hset(key, "problem", problem);
    else multi.hdel(key, "problem");
    await multi.exec();
  }

  async forget(id: string): Promise<void> {
    await this.redis.multi().srem(SCHEDULE_INDEX_KEY, id).del(scheduleKey(id)).exec();
  }

  async setPaused(id: string, paused: boolean): Promise<void> {
    if (paused) await this.redis.hset(scheduleKey(id), "paused", "1");
    else await this.redis.hdel(scheduleKey(id), "paused");
  }
}

export type ScheduleOutcome = { status: "completed" } | { status: "failed"; error: string };

/**
 * Worker-side hook: the engine's worker calls this when a job finishes (completed, or failed
 * for good) so `schedules list` can show the last run and its outcome. Jobs that no schedule
 * produced are ignored. The schedule id is BullMQ's `repeatJobKey` (our deterministic id).
 */
export async function recordScheduleOutcome(redis: BrokerConnection, job: Pick<Job, "id" | "repeatJobKey" | "processedOn" | "finishedOn">, outcome: ScheduleOutcome): Promise<void> {
  const id = job.repeatJobKey;
  if (!id) return;
  const key = scheduleKey(id);
  // A schedule removed meanwhile is not resurrected as a stray hash.
  if (!(await redis.sismember(SCHEDULE_INDEX_KEY, id))) return;
  const fields: Record<string, string> = {
    lastRunAt: String(job.processedOn ?? Date.now()),
    lastFinishedAt: String(job.finishedOn ?? Date.now()),
    lastOutcome: outcome.status,
    lastJobId: String(job.id ?? ""),
  };
  const multi = redis.multi().hset(key, fields);
  if (outcome.status === "failed") multi.hset(key, "lastError", outcome.error.split("\n")[0] ?? "");
  else multi.hdel(key, "lastError");
  await multi.exec();
}

/**
 * Wires `recordScheduleOutcome` to a BullMQ worker's `completed` / `failed` events, for workers
 * that do not call it themselves. A failed attempt that will be retried is recorded too (the
 * next attempt's outcome replaces it).
 */
export function attachScheduleOutcomeRecorder(worker: Pick<import("bullmq").Worker, "on">, redis: BrokerConnection, onError?: (err: Error) => void): void {
  const report = (err: unknown): void => onError?.(err as Error);
  // Only jobs fired by a schedule carry a repeatJobKey; the others cost one property read.
  worker.on("completed", (job: Job) => {
    if (job.repeatJobKey) recordScheduleOutcome(redis, job, { status: "completed" }).catch(report);
  });
  worker.on("failed", (job: Job | undefined, err: Error) => {
    if (job?.repeatJobKey) recordScheduleOutcome(redis, job, { status: "failed", error: err.message }).catch(report);
  });
}

/**
 * The outcome hook (TaskWorkerOptions.onOutcome) that records each run of a periodic task for
 * `schedules list`, read from the engine's decision: a success, or a failed attempt — retried
 * or final (the next attempt's outcome replaces a retried one). Deferrals are not runs.
 */
export function scheduleOutcomeHook(redis: BrokerConnection, onError?: (err: Error) => void): OutcomeHook {
  const report = (err: unknown): void => onError?.(err as Error);
  return (job, decision) => {
    // Only jobs fired by a schedule carry a repeatJobKey; the others cost one property read.
    if (!job.repeatJobKey) return;
    if (decision.kind === "success") recordScheduleOutcome(redis, job, { status: "completed" }).catch(report);
    else if (decision.kind === "retry" || decision.kind === "final") {
      const error = decision.error instanceof Error ? decision.error.message : String(decision.error);
      recordScheduleOutcome(redis, job, { status: "failed", error }).catch(report);
    }
  };
}

/** What a TaskWorker takes from the scheduler: its repeat strategy and the schedule-outcome hook. */
export function schedulerWorkerOptions(redis: BrokerConnection, onError?: (err: Error) => void): Required<Pick<TaskWorkerOptions, "repeatStrategy" | "onOutcome">> {
  return { repeatStrategy: diracxRepeatStrategy, onOutcome: scheduleOutcomeHook(redis, onError) };
}
