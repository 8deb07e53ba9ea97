import { createHash } from "node:crypto";
import os from "node:os";
import type { BrokerConnection } from "../redis-cluster.ts";
import type { Logger } from "../logging.ts";
import { SCHEDULER_FINGERPRINTS_KEY } from "../redis-keys.ts";
import type { DesiredSchedule } from "./desired.ts";

/** What one scheduler process publishes about the schedules it wants. */
export interface FingerprintEntry {
  fingerprint: string;
  schedules: number;
  host: string;
  pid: number;
  /** Redis-independent wall clock of the last publish (ms); stale entries are dropped. */
  at: number;
}

/**
 * The configuration fingerprint of a set of desired schedules: what each schedule runs, when,
 * with which arguments. Two schedulers with the same registry and configuration agree.
 */
export function scheduleFingerprint(schedules: readonly DesiredSchedule[]): string {
  const canonical = [...schedules]
    .map((s) => [s.id, s.taskId, s.vo ?? null, s.variant ?? null, s.spec, s.args, s.priority, s.size])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  return createHash("sha256").update(stableJson(canonical)).digest("hex").slice(0, 16);
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "null";
}

/**
 * The board of live schedulers' fingerprints in Redis. Each scheduler publishes its own after
 * every reconcile and on a heartbeat; when a live one disagrees it warns (once per disagreement),
 * since every reconcile makes Redis equal to its own configuration: the last writer wins.
 */
export class FingerprintBoard {
  private mine: FingerprintEntry | undefined;
  private warnedFor = "";

  constructor(
    private readonly redis: BrokerConnection,
    private readonly owner: string,
    private readonly log: Logger,
    /** Entries not refreshed for this long belong to schedulers gone away. */
    private readonly staleMs = 60_000,
  ) {}

  /** Records this scheduler's fingerprint and compares it with the other live ones. */
  async publish(schedules: readonly DesiredSchedule[]): Promise<FingerprintEntry[]> {
    this.mine = { fingerprint: scheduleFingerprint(schedules), schedules: schedules.length, host: os.hostname(), pid: process.pid, at: Date.now() };
    return this.refresh();
  }

  /** Heartbeat: re-publishes the last fingerprint and compares; returns the disagreeing ones. */
  async refresh(): Promise<FingerprintEntry[]> {
    if (!this.mine) return [];
    this.mine.at = Date.now();
    await this.redis.hset(SCHEDULER_FINGERPRINTS_KEY, this.owner, JSON.stringify(this.mine));
    const all = await this.redis.hgetall(SCHEDULER_FINGERPRINTS_KEY);
    const others: (FingerprintEntry & { owner: string })[] = [];
    const stale: string[] = [];
    for (const [owner, raw] of Object.entries(all)) {
      if (owner === this.owner) continue;
      let entry: FingerprintEntry;
      try {
        entry = JSON.parse(raw) as FingerprintEntry;
      } catch {
        stale.push(owner);
        continue;
      }
      if (this.mine.at - entry.at > this.staleMs) stale.push(owner);
      else others.push({ ...entry, owner });
    }
    if (stale.length) await this.redis.hdel(SCHEDULER_FINGERPRINTS_KEY, ...stale);
    const disagree = others.filter((o) => o.fingerprint !== this.mine!.fingerprint);
    const key = disagree.map((d) => `${d.owner}=${d.fingerprint}`).sort().join(",") + `|${this.mine.fingerprint}`;
    if (disagree.length && key !== this.warnedFor) {
      this.log.warn(
        {
          fingerprint: this.mine.fingerprint,
          schedules: this.mine.schedules,
          others: disagree.map((d) => ({ fingerprint: d.fingerprint, schedules: d.schedules, host: d.host, pid: d.pid })),
        },
        "schedulers disagree on the configuration: each reconcile makes the schedules its own (the last writer wins); give every scheduler the same registry and configuration",
      );
    }
    this.warnedFor = disagree.length ? key : "";
    return disagree;
  }

  /** Leaves the board (a stopped scheduler no longer counts). */
  async leave(): Promise<void> {
    await this.redis.hdel(SCHEDULER_FINGERPRINTS_KEY, this.owner);
  }
}
