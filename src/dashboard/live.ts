// One snapshot of the system per server, refreshed about once a second while someone watches,
// shared by every open page (server-sent events) and by the polling fallback: ten open tabs
// cost the broker what one does.
import { queueStatuses, type QueueStatus } from "../ops/queue-status.ts";
import { outboxSize } from "../engine/dead-letter.ts";
import type { Size } from "../engine/priorities.ts";
import { readThroughput } from "../engine/task-stats.ts";
import type { Engine } from "../engine/wiring.ts";
import type { TaskDB } from "../db/sql/task-db.ts";
import type { Logger } from "../logging.ts";
import { BROKER_EPOCH_KEY } from "../redis-keys.ts";
import { lastBrokerWipe, type BrokerWipeView } from "../ops/broker-wipes.ts";

export const THROUGHPUT_MINUTES = 60;

export interface Snapshot {
  at: number;
  queues: QueueStatus[];
  /** Enqueue time of the oldest waiting task per size (ms since epoch), null when none waits. */
  oldestWaitingAt: Record<Size, number | null>;
  /** Pending dead letters per VO ("" for none); null without TaskDB. */
  deadLettersByVo: Record<string, number> | null;
  outbox: number;
  /** The broker epoch; a new value means the broker was wiped and re-seeded. */
  epoch: string | null;
  /** The last broker wipe the scheduler recorded and the tasks it lost (wipe accounting); null: none or no TaskDB. */
  lastWipe: BrokerWipeView | null;
  /** Tasks finished per minute over the last hour, oldest minute first. */
  completedPerMinute: number[];
  failedPerMinute: number[];
}

/** Enqueue time of the oldest task waiting at any priority of one queue (from the status's per-priority ages). */
function oldestWaiting(q: QueueStatus, now: number): number | null {
  const ages = Object.values(q.oldestWaitingSeconds).filter((a): a is number => a !== null);
  return ages.length ? now - Math.max(...ages) * 1000 : null;
}

export async function takeSnapshot(engine: Engine, taskDB: TaskDB | undefined): Promise<Snapshot> {
  const now = Date.now();
  const [queues, byVo, outbox, epoch, throughput, lastWipe] = await Promise.all([
    queueStatuses(engine.producer),
    taskDB ? taskDB.countByVo({ status: "pending" }) : Promise.resolve(null),
    outboxSize(engine.redis),
    engine.redis.get(BROKER_EPOCH_KEY),
    // Counted by the outcome step (src/engine/task-stats.ts), not read from BullMQ's finished sets, whose retention may be short.
    readThroughput(engine.redis, THROUGHPUT_MINUTES, now),
    taskDB ? lastBrokerWipe(taskDB) : Promise.resolve(null),
  ]);
  return {
    at: now,
    queues,
    oldestWaitingAt: Object.fromEntries(queues.map((q) => [q.size, oldestWaiting(q, now)])) as Record<Size, number | null>,
    deadLettersByVo: byVo,
    outbox,
    epoch,
    lastWipe,
    completedPerMinute: throughput.completed,
    failedPerMinute: throughput.failed,
  };
}

/** Pending dead letters a viewer may see: all of them, or their VO's. */
export function visibleDeadLetters(s: Snapshot, vo: string | undefined): number | null {
  if (!s.deadLettersByVo) return null;
  if (vo === undefined) return Object.values(s.deadLettersByVo).reduce((a, b) => a + b, 0);
  return s.deadLettersByVo[vo] ?? 0;
}

export function ageText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor(s / 3600) % 24).padStart(2, "0")}h`;
}

/** The values the page's `data-live` elements show, for one viewer. */
export function liveValues(s: Snapshot, vo: string | undefined): Record<string, string> {
  const out: Record<string, string> = { at: new Date(s.at).toISOString() };
  for (const q of s.queues) {
    for (const [p, n] of Object.entries(q.waiting)) out[`${q.size}.${p}`] = String(n);
    out[`${q.size}.delayed`] = String(q.delayed);
    out[`${q.size}.running`] = String(q.running);
    out[`${q.size}.failed`] = String(q.failed);
    out[`${q.size}.workers`] = String(q.workers);
    const oldest = s.oldestWaitingAt[q.size];
    out[`${q.size}.oldest`] = oldest === null ? "-" : ageText(s.at - oldest);
  }
  const dl = visibleDeadLetters(s, vo);
  out["dlq.pending"] = dl === null ? "-" : String(dl);
  out["dlq.outbox"] = String(s.outbox);
  out.epoch = s.epoch ?? "none (broker not seeded yet)";
  out.wipe = wipeText(s.lastWipe);
  out["throughput.hour"] = String(s.completedPerMinute.reduce((a, b) => a + b, 0));
  return out;
}

/** The last broker wipe in one line: when, and how many queued tasks it lost (as of the snapshot before it). */
export function wipeText(w: BrokerWipeView | null): string {
  if (!w) return "none recorded";
  return `${w.detectedAt}: ${w.lost === null ? "unknown number of" : w.lost} tasks lost${w.snapshotAt ? ` (snapshot of ${w.snapshotAt})` : " (no snapshot before it)"}`;
}

type Listener = (s: Snapshot) => void;

export class LiveSnapshot {
  private latest: Snapshot | undefined;
  private inFlight: Promise<Snapshot> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly take: () => Promise<Snapshot>,
    private readonly log: Logger,
    private readonly intervalMs = 1000,
  ) {}

  /** A snapshot at most `intervalMs` old; concurrent callers share one computation. */
  async current(): Promise<Snapshot> {
    if (this.latest && Date.now() - this.latest.at < this.intervalMs) return this.latest;
    this.inFlight ??= this.take().then(
      (s) => {
        this.latest = s;
        this.inFlight = undefined;
        return s;
      },
      (err: unknown) => {
        this.inFlight = undefined;
        throw err;
      },
    );
    return this.inFlight;
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.stop();
    };
  }

  private async tick(): Promise<void> {
    try {
      const s = await this.current();
      for (const fn of this.listeners) fn(s);
    } catch (err) {
      this.log.warn({ err }, "dashboard snapshot failed");
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
