import { Queue } from "bullmq";
import type { BrokerConnection } from "../redis-cluster.ts";
import { DiracxError } from "../errors.ts";
import { BULL_PREFIX } from "./engine-bridge.ts";
import { repeatOptionsFor } from "./reconcile.ts";
import { schedulerQueueSettings } from "./repeat-strategy.ts";
import { ScheduleStore, type ScheduleRecord } from "./state.ts";
import type { ScheduleSpec } from "../schedule/index.ts";

/** One line of `schedules list`. */
export interface ScheduleStatus {
  id: string;
  task: string;
  vo?: string;
  variant?: string;
  kind: string;
  schedule: string;
  queue: string;
  priority: string;
  paused: boolean;
  /** Nominal time of the pending run (ms since epoch); absent when paused, broken or exhausted. */
  nextRunAt?: number;
  lastRunAt?: number;
  lastOutcome?: "completed" | "failed";
  lastError?: string;
  /** Why the schedule is not running, if it is not. */
  problem?: string;
}

export class UnknownScheduleError extends DiracxError {}

type Template = { name: string; data: Record<string, unknown>; opts: Record<string, unknown> };

/**
 * Operator actions on schedules (`diracx-tasks schedules …`, the dashboard). Works from Redis
 * alone: each schedule's hash says which queue, job template and spec it has.
 */
export class ScheduleAdmin {
  private readonly store: ScheduleStore;
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly redis: BrokerConnection) {
    this.store = new ScheduleStore(redis);
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.redis, prefix: BULL_PREFIX, settings: schedulerQueueSettings });
      this.queues.set(name, q);
    }
    return q;
  }

  private async record(id: string): Promise<ScheduleRecord> {
    const rec = await this.store.get(id);
    if (!rec) {
      const known = (await this.store.all()).map((r) => r.id);
      throw new UnknownScheduleError(`unknown schedule '${id}' (known: ${known.join(", ") || "none"})`);
    }
    return rec;
  }

  async list(): Promise<ScheduleStatus[]> {
    const records = await this.store.all();
    return Promise.all(
      records.map(async (r) => {
        // BullMQ answers a missing id that contains ':' with a "legacy" record without `next`.
        const found = r.paused ? undefined : await this.queue(r.queue).getJobScheduler(r.id);
        const bull = found?.next ? found : undefined;
        const status: ScheduleStatus = {
          id: r.id,
          task: r.task,
          ...(r.vo ? { vo: r.vo } : {}),
          ...(r.variant ? { variant: r.variant } : {}),
          kind: r.kind,
          schedule: r.schedule,
          queue: r.queue,
          priority: r.priority,
          paused: r.paused,
          ...(bull?.next ? { nextRunAt: bull.next } : {}),
          ...(r.lastRunAt ? { lastRunAt: r.lastRunAt } : {}),
          ...(r.lastOutcome ? { lastOutcome: r.lastOutcome } : {}),
          ...(r.lastError ? { lastError: r.lastError } : {}),
          ...(r.problem ? { problem: r.problem } : !r.paused && !bull ? { problem: "no job scheduler in Redis (not reconciled yet, or exhausted)" } : {}),
        };
        return status;
      }),
    );
  }

  /** Stops the schedule's runs; reconciles keep it paused until `resume`. */
  async pause(id: string): Promise<void> {
    const rec = await this.record(id);
    await this.store.setPaused(id, true);
    await this.queue(rec.queue).removeJobScheduler(id);
  }

  /** Re-creates the schedule's job scheduler (cron/RRULE: next occurrence; interval: now). */
  async resume(id: string): Promise<void> {
    const rec = await this.record(id);
    await this.store.setPaused(id, false);
    const spec = JSON.parse(rec.spec) as ScheduleSpec;
    const template = JSON.parse(rec.template) as Template;
    await this.queue(rec.queue).upsertJobScheduler(id, repeatOptionsFor(spec, new Date()), template);
  }

  /** Submits one run now with the schedule's args; returns the job id. Paused or not. */
  async trigger(id: string): Promise<string> {
    const rec = await this.record(id);
    const template = JSON.parse(rec.template) as Template;
    const job = await this.queue(rec.queue).add(template.name, template.data, template.opts);
    return String(job.id);
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
