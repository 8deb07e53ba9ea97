// The one module that knows the Redis key names of diracx-tasks: BullMQ's queues, the engine,
// the scheduler, locks and limiters. Every key starts with the hash tag `{diracx}`, so on Redis
// Cluster they all hash to one slot and every multi-key Lua script, MULTI and BullMQ flow stays
// atomic without change.
//
//   {diracx}:tasks-<size>:*                BullMQ (prefix BULL_PREFIX)
//   {diracx}:engine:dlq-outbox             dead letters not yet committed to TaskDB
//   {diracx}:scheduler:schedules           set of schedule ids
//   {diracx}:scheduler:schedule:<id>       hash describing one schedule
//   {diracx}:scheduler:fingerprints        hash: scheduler process → its configuration fingerprint
//   {diracx}:broker:epoch                  fresh-broker sentinel
//   {diracx}:stats:<1m|5m|1h>:<start>      outcome counts and durations per time bucket (task-stats.ts)
//   {diracx}:stats:last-failure            per-task last final failure
//   {diracx}:lock:mutex:<type>:<key>       MutexLock
//   {diracx}:lock:rw:<type>:<key>          ExclusiveRWLock / SharedRWLock (one key, both modes)
//   {diracx}:limiter:rate:<type>:<key>     RateLimiter
//   {diracx}:limiter:conc:<type>:<key>     ConcurrencyLimiter
//   {diracx}:holders:<lock key without the tag>   holder info (member → JSON) of a lock key
//
// Lock keys are sorted sets whose members are holders (or rate permits) scored by their expiry
// time in Redis server milliseconds, so a crashed holder drops out on its own.

/** The hash tag every key carries. */
export const HASH_TAG = "{diracx}";
const ROOT = `${HASH_TAG}:`;

/** BullMQ's `prefix` for every task queue. */
export const BULL_PREFIX = HASH_TAG;

/**
 * Keys of the layout before the hash tag (`diracx:…` and BullMQ prefix `diracx`). Nothing reads
 * them any more; a broker holding only these is treated as a wiped broker (broker-lifecycle.ts).
 */
export const LEGACY_KEY_PATTERN = "diracx:*";

/** Dead-letter outbox (src/engine/dead-letter.ts): entries not yet committed to TaskDB. */
export const DLQ_OUTBOX_KEY = `${ROOT}engine:dlq-outbox`;

/** Set of every schedule id the scheduler manages (so `schedules list` needs no registry). */
export const SCHEDULE_INDEX_KEY = `${ROOT}scheduler:schedules`;

/** Hash of live scheduler processes → the fingerprint of the schedules they want (src/scheduler/fingerprint.ts). */
export const SCHEDULER_FINGERPRINTS_KEY = `${ROOT}scheduler:fingerprints`;

/** Hash describing one schedule (ScheduleRecord in src/scheduler/state.ts). */
export function scheduleKey(scheduleId: string): string {
  return `${ROOT}scheduler:schedule:${scheduleId}`;
}

/**
 * Broker epoch sentinel. Created with SET NX by the first process to see an empty broker;
 * its absence means Redis was wiped (or never used), its value changing means another
 * process already noticed a wipe.
 */
export const BROKER_EPOCH_KEY = `${ROOT}broker:epoch`;

/** Per-task outcome counts and duration histograms of one time bucket (src/engine/task-stats.ts). */
export function taskStatsKey(granularity: "1m" | "5m" | "1h", bucketStart: number): string {
  return `${ROOT}stats:${granularity}:${bucketStart}`;
}

/** Hash task name → JSON of its last final failure (src/engine/task-stats.ts). */
export const TASK_LAST_FAILURE_KEY = `${ROOT}stats:last-failure`;

/** How a lock key is held; also the `kind` argument the lock Lua scripts switch on. */
export type LockKind = "mutex" | "write" | "read" | "concurrency" | "rate";

const LOCK_FAMILY: Record<LockKind, string> = {
  mutex: "lock:mutex",
  write: "lock:rw",
  read: "lock:rw",
  concurrency: "limiter:conc",
  rate: "limiter:rate",
};

/** SCAN patterns that together cover every lock and limiter key. */
export const LOCK_KEY_PATTERNS = [`${ROOT}lock:*`, `${ROOT}limiter:*`] as const;

export function lockRedisKey(kind: LockKind, objectType: string, key: string): string {
  return `${ROOT}${LOCK_FAMILY[kind]}:${objectType}:${key}`;
}

export function holdersKey(lockKey: string): string {
  return `${ROOT}holders:${lockKey.startsWith(ROOT) ? lockKey.slice(ROOT.length) : lockKey}`;
}

export type KeyFamily = "mutex" | "rw" | "rate" | "concurrency";

const FAMILY_OF = { "lock:mutex": "mutex", "lock:rw": "rw", "limiter:rate": "rate", "limiter:conc": "concurrency" } as const;
const LOCK_KEY = /^\{diracx\}:(lock:mutex|lock:rw|limiter:rate|limiter:conc):([^:]+):(.+)$/;

/** Splits a lock key back into family, object type and key; undefined for anything else. */
export function parseLockRedisKey(lockKey: string): { family: KeyFamily; objectType: string; key: string } | undefined {
  const m = LOCK_KEY.exec(lockKey);
  if (!m) return undefined;
  return { family: FAMILY_OF[m[1] as keyof typeof FAMILY_OF], objectType: m[2]!, key: m[3]! };
}
