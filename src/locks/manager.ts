import { scanKeys, type BrokerConnection } from "../redis-cluster.ts";
import { LockDefinitionError } from "./errors.ts";
import { holderMember, holdersKey, LOCK_KEY_PATTERNS, parseLockRedisKey, type LockKind, type KeyFamily } from "./keys.ts";
import { type Lock, RateLimiter, ConcurrencyLimiter } from "./lock.ts";
import { runScript } from "./scripts.ts";

/** Who holds a lock, recorded with it for `diracx-tasks locks list`. */
export interface LockHolder {
  taskId?: string;
  taskName?: string;
}

export interface AcquireOptions {
  /** Interactive runs skip every limiter; structural locks still apply. */
  skipLimiters?: boolean;
  holder?: LockHolder;
}

/** What an owner holds after `acquireAll`; pass it back to `extendAll` and `releaseAll`. */
export interface HeldLocks {
  readonly ownerId: string;
  /** The locks actually taken: disabled or skipped limiters are not among them. */
  readonly locks: readonly Lock[];
  /** Redis server time of the acquisition, in ms since the epoch. */
  readonly acquiredAt: number;
  /** What extend and release send, as the acquisition computed it (absent: computed from `locks`). */
  readonly held?: { readonly keys: readonly string[]; readonly kinds: readonly string[] };
}

export type AcquireResult =
  | { acquired: true; held: HeldLocks }
  | {
      acquired: false;
      /** Redis key of the first lock that blocked. */
      blockedBy: string;
      lock: Lock;
      /** Rate limiter: when the next permit frees. Other locks: when their holders expire at the latest. */
      retryAfterMs: number;
    };

export interface HolderInfo {
  ownerId: string;
  /** Set on read/write locks. */
  mode?: "read" | "write";
  taskId?: string;
  taskName?: string;
  acquiredAt: Date;
  ageMs: number;
  /** Until this hold expires (for a rate permit: until it leaves the window). */
  ttlMs: number;
}

export interface LockInfo {
  redisKey: string;
  type: KeyFamily;
  objectType: string;
  key: string;
  /** Live holders; for a rate limiter, the permits inside the current window. */
  holders: HolderInfo[];
}

function checkTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new LockDefinitionError(`lock TTL is ${ttlMs} ms, expected a positive integer`);
}

function checkOwner(ownerId: string): void {
  if (typeof ownerId !== "string" || ownerId === "") throw new LockDefinitionError("lock owner id is empty");
}

/** Keeps one lock per Redis key: the same lock listed twice is taken once, and a writer wins over a reader. */
function dedupe(locks: readonly Lock[]): Lock[] {
  if (locks.length < 2 || (locks.length === 2 && locks[0]!.redisKey !== locks[1]!.redisKey)) return locks as Lock[];
  const byKey = new Map<string, Lock>();
  for (const lock of locks) {
    const seen = byKey.get(lock.redisKey);
    if (!seen || (seen.kind === "read" && lock.kind === "write")) byKey.set(lock.redisKey, lock);
  }
  return [...byKey.values()];
}

function keysOf(locks: readonly Lock[]): string[] {
  const keys: string[] = [];
  for (const l of locks) keys.push(l.redisKey, holdersKey(l.redisKey));
  return keys;
}

/** The keys and kinds extend and release send: the held locks only (rate permits are not held). */
function heldOf(held: HeldLocks): { readonly keys: readonly string[]; readonly kinds: readonly string[] } {
  if (held.held) return held.held;
  const locks = held.locks.filter((l) => isHeld(l.kind));
  return { keys: keysOf(locks), kinds: locks.map((l) => l.kind) };
}

/** Whether a lock is held until released (rate permits are consumed instead). */
function isHeld(kind: LockKind): boolean {
  return kind !== "rate";
}

/** The holder info JSON without its end: the script appends the acquisition time and the brace. */
function holderInfoPrefix(holder: LockHolder | undefined): string {
  const json = JSON.stringify(holder ?? {});
  return `${json.slice(0, -1)}${json === "{}" ? "" : ","}"acquiredAt":`;
}

function parseHolder(json: string | undefined): LockHolder & { acquiredAt?: number } {
  if (json === undefined) return {};
  try {
    const v: unknown = JSON.parse(json);
    return typeof v === "object" && v !== null ? (v as LockHolder & { acquiredAt?: number }) : {};
  } catch {
    return {};
  }
}

/** Takes, extends, releases and lists locks and limiters on Redis. Every operation is one script call. */
export class LockManager {
  constructor(private readonly redis: BrokerConnection) {}

  /** The same manager on another connection (a worker sends lock commands on BullMQ's, so they are ordered with its own). */
  withConnection(redis: BrokerConnection): LockManager {
    return redis === this.redis ? this : new LockManager(redis);
  }

  /**
   * Takes all the locks or none (one Lua script, so one round trip). Disabled limiters are left
   * out, and every limiter is with `skipLimiters`. A refusal names the first lock that blocked.
   */
  async acquireAll(locks: readonly Lock[], ownerId: string, ttlMs: number, opts: AcquireOptions = {}): Promise<AcquireResult> {
    checkOwner(ownerId);
    checkTtl(ttlMs);
    const wanted = dedupe(locks.filter((l) => l.enabled && !(opts.skipLimiters && l.isLimiter)));
    if (wanted.length === 0) return { acquired: true, held: { ownerId, locks: [], acquiredAt: Date.now() } };
    const args: (string | number)[] = [ownerId, ttlMs, holderInfoPrefix(opts.holder)];
    for (const lock of wanted) {
      if (lock instanceof RateLimiter) args.push(lock.kind, lock.limit ?? 0, lock.windowMs ?? 0, lock.permits);
      else if (lock instanceof ConcurrencyLimiter) args.push(lock.kind, lock.limit ?? 0, "", "");
      else args.push(lock.kind, "", "", "");
    }
    const keys = keysOf(wanted);
    const reply = (await runScript(this.redis, "acquire", keys, args)) as number[];
    if (reply[0] === 1) {
      const holds = wanted.every((l) => isHeld(l.kind)) ? wanted : wanted.filter((l) => isHeld(l.kind));
      const held = { keys: holds === wanted ? keys : keysOf(holds), kinds: holds.map((l) => l.kind) };
      return { acquired: true, held: { ownerId, locks: wanted, acquiredAt: reply[1] as number, held } };
    }
    const lock = wanted[(reply[1] as number) - 1] as Lock;
    return { acquired: false, blockedBy: lock.redisKey, lock, retryAfterMs: reply[2] as number };
  }

  /** Pushes every held lock's expiry to now + ttlMs; returns the Redis keys of those no longer held. */
  async extendAll(held: HeldLocks, ttlMs: number): Promise<{ lost: string[] }> {
    checkTtl(ttlMs);
    const { keys, kinds } = heldOf(held);
    if (kinds.length === 0) return { lost: [] };
    const reply = (await runScript(this.redis, "extend", keys, [held.ownerId, ttlMs, ...kinds])) as number[];
    return { lost: reply.map((i) => keys[2 * (i - 1)] as string) };
  }

  /** Releases what this owner holds (never another owner's hold); returns how many holds were released. */
  async releaseAll(held: HeldLocks): Promise<number> {
    const { keys, kinds } = heldOf(held);
    if (kinds.length === 0) return 0;
    return (await runScript(this.redis, "release", keys, [held.ownerId, ...kinds])) as number;
  }

  /** Drops every holder of one lock or limiter; false if nobody held it. */
  async forceRelease(redisKey: string): Promise<boolean> {
    if (!parseLockRedisKey(redisKey)) throw new LockDefinitionError(`'${redisKey}' is not a lock key (see \`diracx-tasks locks list\`)`);
    return ((await runScript(this.redis, "force-release", [redisKey, holdersKey(redisKey)], [])) as number) > 0;
  }

  /**
   * Every lock and limiter with live holders, sorted by key. `pattern` is a Redis glob on the
   * key; without glob characters it matches keys containing it.
   */
  async list(pattern?: string): Promise<LockInfo[]> {
    const match = pattern === undefined || pattern === "" ? undefined : /[*?[]/.test(pattern) ? pattern : `*${pattern}*`;
    const keys = new Set<string>();
    for (const family of LOCK_KEY_PATTERNS) {
      // Every master of a cluster (the {diracx} slot lives on one, but which one can change).
      for await (const { keys: batch } of scanKeys(this.redis, family)) for (const k of batch) if (parseLockRedisKey(k)) keys.add(k);
    }
    const wanted = [...keys].filter((k) => match === undefined || globMatch(match, k)).sort();
    if (wanted.length === 0) return [];
    const reply = (await runScript(this.redis, "inspect", wanted.flatMap((k) => [k, holdersKey(k)]), [])) as [number, ...[string[], string[]][]];
    const now = reply[0];
    const out: LockInfo[] = [];
    wanted.forEach((redisKey, i) => {
      const [scored, hash] = reply[i + 1] as [string[], string[]];
      const info = new Map<string, string>();
      for (let j = 0; j < hash.length; j += 2) info.set(hash[j] as string, hash[j + 1] as string);
      const parsed = parseLockRedisKey(redisKey)!;
      const holders: HolderInfo[] = [];
      for (let j = 0; j < scored.length; j += 2) {
        const member = scored[j] as string;
        const expiresAt = Number(scored[j + 1]);
        if (expiresAt <= now) continue;
        const h = parseHolder(info.get(member));
        const acquiredAt = h.acquiredAt ?? now;
        const holder: HolderInfo = { ownerId: member, acquiredAt: new Date(acquiredAt), ageMs: now - acquiredAt, ttlMs: expiresAt - now };
        if (parsed.family === "rw") {
          holder.mode = member.startsWith("w:") ? "write" : "read";
          holder.ownerId = member.slice(2);
        } else if (parsed.family === "rate") {
          // Permit members are `<owner>:<time>:<n>`; the owner id is what an operator recognises.
          holder.ownerId = member.replace(/:\d+:\d+(\.\d+)?$/, "");
        }
        if (h.taskId !== undefined) holder.taskId = h.taskId;
        if (h.taskName !== undefined) holder.taskName = h.taskName;
        holders.push(holder);
      }
      if (holders.length > 0) out.push({ redisKey, type: parsed.family, objectType: parsed.objectType, key: parsed.key, holders });
    });
    return out;
  }
}

/** Redis-style glob (`*`, `?`, `[...]`) matched locally, since one SCAN can take only one MATCH. */
function globMatch(glob: string, text: string): boolean {
  let re = "^";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end === -1) re += "\\[";
      else {
        re += `[${glob.slice(i + 1, end).replace(/\\/g, "\\\\").replace(/^!/, "^")}]`;
        i = end;
      }
    } else if (c === "\\" && i + 1 < glob.length) re += `\\${glob[++i]}`;
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`${re}$`, "s").test(text);
}
