// Lock and limiter key names come from the one key builder (src/redis-keys.ts).
export { holdersKey, LOCK_KEY_PATTERNS, lockRedisKey, parseLockRedisKey, type KeyFamily, type LockKind } from "../redis-keys.ts";

/** The sorted-set member a holder is recorded under: RW keys tag the mode so readers can see a writer. */
export function holderMember(kind: import("../redis-keys.ts").LockKind, ownerId: string): string {
  if (kind === "write") return `w:${ownerId}`;
  if (kind === "read") return `r:${ownerId}`;
  return ownerId;
}
