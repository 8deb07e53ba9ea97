// The one place that knows the Redis key names of locks and limiters.
//
//   diracx:lock:mutex:<type>:<key>        MutexLock
//   diracx:lock:rw:<type>:<key>           ExclusiveRWLock / SharedRWLock (one key, both modes)
//   diracx:limiter:rate:<type>:<key>      RateLimiter
//   diracx:limiter:conc:<type>:<key>      ConcurrencyLimiter
//   diracx:holders:<key without "diracx:">  holder info (hash: member → JSON) of the key above
//
// Every lock key is a sorted set whose members are holders (or rate permits) scored by their
// expiry time in Redis server milliseconds, so a crashed holder drops out on its own.

/** How a key is held; also the `kind` argument the Lua scripts switch on. */
export type LockKind = "mutex" | "write" | "read" | "concurrency" | "rate";

const PREFIX = "diracx:";
const FAMILY: Record<LockKind, string> = {
  mutex: "lock:mutex",
  write: "lock:rw",
  read: "lock:rw",
  concurrency: "limiter:conc",
  rate: "limiter:rate",
};

/** SCAN patterns that together cover every lock and limiter key. */
export const LOCK_KEY_PATTERNS = [`${PREFIX}lock:*`, `${PREFIX}limiter:*`] as const;

export function lockRedisKey(kind: LockKind, objectType: string, key: string): string {
  return `${PREFIX}${FAMILY[kind]}:${objectType}:${key}`;
}

export function holdersKey(redisKey: string): string {
  return `${PREFIX}holders:${redisKey.slice(PREFIX.length)}`;
}

/** The sorted-set member a holder is recorded under: RW keys tag the mode so readers can see a writer. */
export function holderMember(kind: LockKind, ownerId: string): string {
  if (kind === "write") return `w:${ownerId}`;
  if (kind === "read") return `r:${ownerId}`;
  return ownerId;
}

export type KeyFamily = "mutex" | "rw" | "rate" | "concurrency";

/** Splits a lock key back into family, object type and key; undefined for anything else. */
export function parseLockRedisKey(redisKey: string): { family: KeyFamily; objectType: string; key: string } | undefined {
  const m = /^diracx:(lock:mutex|lock:rw|limiter:rate|limiter:conc):([^:]+):(.+)$/.exec(redisKey);
  if (!m) return undefined;
  const family = ({ "lock:mutex": "mutex", "lock:rw": "rw", "limiter:rate": "rate", "limiter:conc": "concurrency" } as const)[
    m[1] as "lock:mutex" | "lock:rw" | "limiter:rate" | "limiter:conc"
  ];
  return { family, objectType: m[2]!, key: m[3]! };
}
