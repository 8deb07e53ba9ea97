/**
 * An honest broker wipe. Redis holds every queued task and nothing durable; when it is wiped
 * (FLUSHALL, a restart without persistence, a failover to an empty replica) the scheduler finds
 * it fresh (broker-lifecycle.ts) and re-creates the schedules — but the waiting, delayed and
 * running tasks are gone. So the scheduler keeps a periodic snapshot of the queue depths per
 * size × priority in TaskDB, labelled with the broker epoch they were read in, and the scheduler
 * that finds the broker fresh reads the last snapshot of the epoch before, logs how many tasks
 * were lost, records the wipe in TaskDB (`status`, the dashboard's data) and counts it in
 * `diracx_tasks_lost_on_wipe_total`. The count is as of the snapshot: tasks submitted after it
 * are missing from it, tasks finished after it are in it (at most one snapshot interval off).
 */
import type { Queue } from "bullmq";
import type { BrokerConnection } from "../redis-cluster.ts";
import { Counter } from "prom-client";
import type { QueueDepth, TaskDB } from "../db/sql/task-db.ts";
import { metricsRegistry } from "../engine/metrics.ts";
import { logger as rootLogger, type Logger } from "../logging.ts";
import { BROKER_EPOCH_KEY } from "../redis-keys.ts";
import { bullmqPriority, PRIORITIES, queueNameFor, SIZES, type Priority } from "./engine-bridge.ts";

/** Tasks lost in broker wipes, per size and priority (`delayed`, `running`, `waiting-children` for those states). */
export const lostOnWipe = new Counter({
  name: "diracx_tasks_lost_on_wipe_total",
  help: "Tasks lost because the broker was wiped, as counted from the last queue snapshot before the wipe",
  labelNames: ["size", "priority"] as const,
  registers: [metricsRegistry],
});

/** Depth of every size queue: waiting per priority, delayed, running and waiting-children per size. */
export async function readQueueDepths(queueOf: (name: string) => Queue): Promise<QueueDepth[]> {
  const levels = PRIORITIES.map((p) => bullmqPriority(p) ?? 0);
  return Promise.all(
    SIZES.map(async (size) => {
      const q = queueOf(queueNameFor(size));
      const [perLevel, counts] = await Promise.all([q.getCountsPerPriority(levels), q.getJobCounts("delayed", "active", "waiting-children")]);
      const waiting = Object.fromEntries(PRIORITIES.map((p: Priority) => [p, perLevel[String(bullmqPriority(p) ?? 0)] ?? 0]));
      return { size, waiting, delayed: counts.delayed ?? 0, running: counts.active ?? 0, waitingChildren: counts["waiting-children"] ?? 0 };
    }),
  );
}

/** Total tasks in `depths`. */
export function depthTotal(depths: readonly QueueDepth[]): number {
  return depths.reduce((n, d) => n + Object.values(d.waiting).reduce((a, b) => a + b, 0) + d.delayed + d.running + d.waitingChildren, 0);
}

/** `small/normal 12, medium delayed 3` — the non-zero cells of `depths`. */
export function describeDepths(depths: readonly QueueDepth[]): string {
  const cells: string[] = [];
  for (const d of depths) {
    for (const [p, n] of Object.entries(d.waiting)) if (n) cells.push(`${d.size}/${p} ${n}`);
    if (d.delayed) cells.push(`${d.size} delayed ${d.delayed}`);
    if (d.running) cells.push(`${d.size} running ${d.running}`);
    if (d.waitingChildren) cells.push(`${d.size} waiting-children ${d.waitingChildren}`);
  }
  return cells.join(", ") || "none";
}

export interface WipeAccountingOptions {
  redis: BrokerConnection;
  /** The scheduler's queues by name. */
  queueOf: (name: string) => Queue;
  taskDB: () => TaskDB;
  /** Snapshot period (default 30 s). */
  intervalMs?: number;
  logger?: Logger;
}

/** The scheduler's queue snapshots and the wipe report (one per scheduler process). */
export class WipeAccounting {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly log: Logger;
  private failing = false;

  constructor(private readonly opts: WipeAccountingOptions) {
    this.log = (opts.logger ?? rootLogger).child({ component: "wipe-accounting" });
  }

  /**
   * Reads the depths and stores them under the current epoch. Skipped while the epoch sentinel
   * is missing: the broker was just wiped and the scheduler that re-creates it reports the loss
   * from the snapshot before (an empty reading must not be filed under the old epoch).
   */
  async snapshot(): Promise<boolean> {
    const epoch = await this.opts.redis.get(BROKER_EPOCH_KEY);
    if (!epoch) return false;
    const depths = await readQueueDepths(this.opts.queueOf);
    await this.opts.taskDB().recordQueueSnapshot(epoch, depths);
    return true;
  }

  /** Called by the scheduler that found the broker fresh in `epoch` (before its hooks run). */
  async onFreshBroker(epoch: string): Promise<void> {
    const db = this.opts.taskDB();
    const before = await db.snapshotBefore(epoch);
    if (!before) {
      // A new installation, or a wipe before any snapshot was taken: nothing to compare with.
      this.log.info({ epoch }, "fresh broker; TaskDB holds no queue snapshot of an earlier one, so no loss is known");
      return;
    }
    const lostTotal = depthTotal(before.depths);
    if (!(await db.recordBrokerWipe({ epoch, previousEpoch: before.epoch, snapshotAt: before.takenAt, lost: before.depths, lostTotal }))) return;
    for (const d of before.depths) {
      for (const [priority, n] of Object.entries(d.waiting)) if (n) lostOnWipe.inc({ size: d.size, priority }, n);
      if (d.delayed) lostOnWipe.inc({ size: d.size, priority: "delayed" }, d.delayed);
      if (d.running) lostOnWipe.inc({ size: d.size, priority: "running" }, d.running);
      if (d.waitingChildren) lostOnWipe.inc({ size: d.size, priority: "waiting-children" }, d.waitingChildren);
    }
    const ageSeconds = Math.round((Date.now() - before.takenAt.getTime()) / 1000);
    this.log.error(
      { epoch, previousEpoch: before.epoch, snapshotAt: before.takenAt.toISOString(), lost: lostTotal, depths: before.depths },
      `broker wiped: ${lostTotal} tasks lost (as of the queue snapshot ${ageSeconds} s before: ${describeDepths(before.depths)}); re-submit what must run`,
    );
  }

  /** Snapshots now and every interval until stop(). A failure is logged once per outage and retried. */
  start(): void {
    const run = (): void => {
      if (this.running) return;
      this.running = this.snapshot()
        .then(() => {
          if (this.failing) this.log.info("queue snapshots written to TaskDB again");
          this.failing = false;
        })
        .catch((err: unknown) => {
          if (!this.failing) this.log.warn({ err: err instanceof Error ? err.message : String(err) }, "cannot write the queue snapshot to TaskDB; a wipe now would be reported from an older one");
          this.failing = true;
        })
        .finally(() => {
          this.running = undefined;
        });
    };
    run();
    this.timer = setInterval(run, this.opts.intervalMs ?? 30_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
