import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import type { BrokerConnection } from "../redis-cluster.ts";
import { LockManager, MutexLock, type HeldLocks } from "../locks/index.ts";
import { logger as rootLogger, type Logger } from "../logging.ts";
import { BrokerLifecycle, type BrokerCheck, type NamedHook } from "./broker-lifecycle.ts";
import { DueJobWaker } from "./due-waker.ts";
import type { TaskDB } from "../db/sql/task-db.ts";
import { WipeAccounting } from "./wipe-accounting.ts";
import { BULL_PREFIX, SIZES, brokerErrorReporter, queueNameFor } from "./engine-bridge.ts";
import { reconcileSchedules, type ReconcileReport } from "./reconcile.ts";
import { schedulerQueueSettings } from "./repeat-strategy.ts";
import { ScheduleStore } from "./state.ts";
import { FingerprintBoard } from "./fingerprint.ts";
import type { DesiredSchedule, ScheduleProblem } from "./desired.ts";

export type DesiredScheduleSource = () =>
  | { schedules: DesiredSchedule[]; problems: ScheduleProblem[] }
  | Promise<{ schedules: DesiredSchedule[]; problems: ScheduleProblem[] }>;

export interface SchedulerOptions {
  /** Broker connection (ioredis with `maxRetriesPerRequest: null`, as BullMQ wants). */
  redis: BrokerConnection;
  /** Desired schedules for the current configuration (registry × VOs × tasks configuration). */
  desired: DesiredScheduleSource;
  /** Subscribes to good configuration changes (ConfigSource.onChange); returns an unsubscribe. */
  onConfigChange?: (listener: () => void) => () => void;
  /** Broker-startup hooks (group `diracx.broker_startup`). */
  hooks?: readonly NamedHook[];
  countDeadLetters?: () => Promise<number>;
  /** Queue snapshots in TaskDB and the loss report of a wipe (wipe-accounting.ts); none without TaskDB. */
  wipeAccounting?: { taskDB: () => TaskDB; intervalMs?: number };
  /** How often the broker sentinel is re-checked, in ms (default 10 s). */
  brokerCheckIntervalMs?: number;
  /**
   * Wake the task queues' workers the moment a delayed job falls due (default true), rather than
   * at Redis's next clock tick (up to 100 ms later): see src/scheduler/due-waker.ts.
   */
  wakeDueJobs?: boolean;
  logger?: Logger;
}

export type ReconcileReason = "start" | "config" | "broker" | "manual";

// A reconcile takes well under a second; the TTL only matters when its process dies holding it.
const RECONCILE_LOCK = new MutexLock("task", "diracx-scheduler:reconcile");
const RECONCILE_LOCK_TTL_MS = 30_000;
const RECONCILE_LOCK_POLL_MS = 25;

/**
 * The `diracx-tasks scheduler` process: keeps BullMQ job schedulers equal to the desired
 * schedules, at start, on every configuration change and after a broker wipe. BullMQ itself
 * fires the runs (a scheduled job's worker places the next one), so a scheduler that is down
 * delays no run already placed, and several schedulers may run at once.
 *
 * Events: `reconciled` (report, reason).
 */
export class Scheduler extends EventEmitter<{ reconciled: [ReconcileReport, ReconcileReason] }> {
  readonly queues: ReadonlyMap<string, Queue>;
  readonly store: ScheduleStore;
  readonly lifecycle: BrokerLifecycle;
  readonly wipes: WipeAccounting | undefined;
  private readonly log: Logger;
  private unsubscribe: (() => void) | undefined;
  // Reconciles run one at a time; a request during one runs once more after it (coalesced).
  private running: Promise<ReconcileReport> | undefined;
  private queued: { promise: Promise<ReconcileReport>; reason: ReconcileReason } | undefined;
  private stopped = false;
  private readonly locks: LockManager;
  private readonly owner = `scheduler:${randomUUID()}`;
  private readonly waker: DueJobWaker | undefined;
  /** Configuration fingerprints of the live schedulers (warns when two disagree). */
  readonly fingerprints: FingerprintBoard;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly opts: SchedulerOptions) {
    super();
    this.log = (opts.logger ?? rootLogger).child({ component: "scheduler" });
    this.queues = new Map(
      SIZES.map((size) => {
        const name = queueNameFor(size);
        return [name, new Queue(name, { connection: opts.redis, prefix: BULL_PREFIX, settings: schedulerQueueSettings })];
      }),
    );
    // Connection errors are logged once per state change by the connection; the rest once per kind.
    const report = brokerErrorReporter(this.log);
    for (const q of this.queues.values()) q.on("error", report);
    this.store = new ScheduleStore(opts.redis);
    this.waker = opts.wakeDueJobs === false ? undefined : new DueJobWaker(opts.redis, [...this.queues.values()], { logger: this.log });
    this.locks = new LockManager(opts.redis);
    const wipes = opts.wipeAccounting;
    this.wipes = wipes && new WipeAccounting({ redis: opts.redis, queueOf: (name) => this.queues.get(name)!, logger: this.log, ...wipes });
    this.fingerprints = new FingerprintBoard(opts.redis, this.owner, this.log);
    this.lifecycle = new BrokerLifecycle(opts.redis, {
      hooks: opts.hooks ?? [],
      ...(this.wipes ? { onFresh: (epoch: string) => this.wipes!.onFreshBroker(epoch) } : {}),
      ...(opts.countDeadLetters ? { countDeadLetters: opts.countDeadLetters } : {}),
      logger: this.log,
    });
  }

  /** Checks the broker (running startup hooks if it is fresh), reconciles, then follows changes. */
  async start(): Promise<ReconcileReport> {
    await this.lifecycle.check();
    this.wipes?.start();
    const report = await this.reconcile("start");
    this.unsubscribe = this.opts.onConfigChange?.(() => {
      void this.reconcile("config").catch((err: unknown) => this.log.error({ err: (err as Error).message }, "reconcile after configuration change failed"));
    });
    this.heartbeat = setInterval(() => {
      this.fingerprints.refresh().catch(() => undefined); // broker away: the connection says so
    }, this.opts.brokerCheckIntervalMs ?? 10_000);
    this.heartbeat.unref();
    this.lifecycle.watch(this.opts.brokerCheckIntervalMs ?? 10_000, (check: BrokerCheck) => {
      this.log.warn({ epoch: check.epoch, fresh: check.fresh }, "broker epoch changed: re-creating schedules");
      return this.reconcile("broker").then(() => undefined);
    });
    this.waker?.start();
    return report;
  }

  /** Reconciles now (serialised with other reconciles of this process). */
  reconcile(reason: ReconcileReason = "manual"): Promise<ReconcileReport> {
    if (this.stopped) return Promise.reject(new Error("scheduler stopped"));
    if (!this.running) {
      this.running = this.runOnce(reason).finally(() => {
        this.running = undefined;
      });
      return this.running;
    }
    if (!this.queued) {
      const after = this.running.catch(() => undefined);
      const promise = after.then(() => {
        const q = this.queued;
        this.queued = undefined;
        return this.reconcile(q?.reason ?? reason);
      });
      this.queued = { promise, reason };
    }
    return this.queued.promise;
  }

  private async runOnce(reason: ReconcileReason): Promise<ReconcileReport> {
    const { schedules, problems } = await this.opts.desired();
    const held = await this.takeReconcileLock();
    let report: ReconcileReport;
    try {
      report = await reconcileSchedules(schedules, problems, { queues: this.queues, store: this.store, logger: this.log });
    } finally {
      await this.locks.releaseAll(held).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, "cannot release the reconcile lock; it expires"));
    }
    await this.fingerprints.publish(schedules).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, "cannot publish the configuration fingerprint"));
    this.emit("reconciled", report, reason);
    return report;
  }

  /**
   * Reconciles of all scheduler processes take turns. Two at once (typically both reacting to
   * the same broker wipe) would each read "missing" and both upsert with override; the second
   * upsert can then land on the run the first one already started and place that same run again
   * or drop the series' pending run. One at a time, the second finds everything in place.
   */
  private async takeReconcileLock(): Promise<HeldLocks> {
    for (;;) {
      const r = await this.locks.acquireAll([RECONCILE_LOCK], this.owner, RECONCILE_LOCK_TTL_MS);
      if (r.acquired) return r.held;
      if (this.stopped) throw new Error("scheduler stopped");
      await sleep(RECONCILE_LOCK_POLL_MS);
    }
  }

  /** Stops following changes, lets a running reconcile finish, closes the queues. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    clearInterval(this.heartbeat);
    this.lifecycle.stop();
    await Promise.allSettled([this.running, this.queued?.promise, this.lifecycle.idle(), this.waker?.stop(), this.wipes?.stop()]);
    await this.fingerprints.leave().catch(() => undefined);
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
