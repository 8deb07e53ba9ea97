import { LockDefinitionError } from "./errors.ts";
import { type LockKind, lockRedisKey } from "./keys.ts";
import { assertLockObjectType } from "./object-types.ts";

/** One part of a lock key: a task name, a job id, a VO… Parts are joined with ':'. */
export type KeyPart = string | number;

function buildKey(what: string, objectType: string, parts: readonly KeyPart[]): string {
  assertLockObjectType(objectType);
  if (parts.length === 0) throw new LockDefinitionError(`${what} on '${objectType}' needs at least one key part`);
  // Built per task (its locks() runs every attempt): one loop, no intermediate array.
  let key = "";
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (typeof p === "number" ? !Number.isFinite(p) : typeof p !== "string" || p === "") {
      throw new LockDefinitionError(`${what} on '${objectType}': key part ${i + 1} is ${JSON.stringify(p) ?? String(p)}, expected a non-empty string or a finite number`);
    }
    key = i === 0 ? String(p) : `${key}:${p}`;
  }
  return key;
}

/** A lock on `<objectType>:<key>`. Structural locks always apply; limiters may be disabled or skipped. */
export abstract class Lock {
  readonly key: string;
  readonly redisKey: string;
  abstract readonly kind: LockKind;
  abstract readonly isLimiter: boolean;

  protected constructor(
    kind: LockKind,
    readonly objectType: string,
    keyParts: readonly KeyPart[],
  ) {
    this.key = buildKey(new.target.name, objectType, keyParts);
    this.redisKey = lockRedisKey(kind, objectType, this.key);
  }

  /** Whether acquiring it does anything; only limiters without a limit are disabled. */
  get enabled(): boolean {
    return true;
  }

  toString(): string {
    return `${this.constructor.name}(${this.objectType}:${this.key})`;
  }
}

/** Exclusive: one holder at a time. */
export class MutexLock extends Lock {
  readonly kind = "mutex" as const;
  readonly isLimiter = false;
  constructor(objectType: string, ...keyParts: KeyPart[]) {
    super("mutex", objectType, keyParts);
  }
}

/** The writer side of a read/write lock: no other writer and no reader. */
export class ExclusiveRWLock extends Lock {
  readonly kind = "write" as const;
  readonly isLimiter = false;
  constructor(objectType: string, ...keyParts: KeyPart[]) {
    super("write", objectType, keyParts);
  }
}

/** The reader side: any number of readers while no writer holds the key. Readers expire like any holder. */
export class SharedRWLock extends Lock {
  readonly kind = "read" as const;
  readonly isLimiter = false;
  constructor(objectType: string, ...keyParts: KeyPart[]) {
    super("read", objectType, keyParts);
  }
}

function checkCount(what: string, name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
    throw new LockDefinitionError(`${what}: ${name} is ${value}, expected a positive integer`);
  }
}

/** Limiters are skipped in interactive runs and disabled while no limit is set. */
export abstract class Limiter extends Lock {
  readonly isLimiter = true;
  /** Key parts, kept so that `withLimit` can build a configured copy. */
  protected readonly keyParts: readonly KeyPart[];
  protected constructor(kind: LockKind, objectType: string, keyParts: readonly KeyPart[]) {
    super(kind, objectType, keyParts);
    this.keyParts = keyParts;
  }
}

export interface RateLimitOptions {
  /** Permits per window; unset means disabled. */
  limit?: number;
  /** Length of the sliding window; required with `limit`. */
  windowSeconds?: number;
  /** Permits one acquisition consumes (default 1). */
  permits?: number;
}

function splitOptions<O extends object>(args: readonly (KeyPart | O)[]): { parts: KeyPart[]; options: O | undefined } {
  const last = args.at(-1);
  if (last !== undefined && typeof last === "object") return { parts: args.slice(0, -1) as KeyPart[], options: last };
  return { parts: args as KeyPart[], options: undefined };
}

/**
 * A true sliding window (a log of timestamped permits): at most `limit` permits in any span of
 * `windowSeconds`. Upstream's "sliding window" was a fixed window that let 2×limit through
 * around a boundary. Permits are consumed, not returned on release.
 */
export class RateLimiter extends Limiter {
  readonly kind = "rate" as const;
  readonly limit: number | undefined;
  readonly windowSeconds: number | undefined;
  readonly permits: number;

  constructor(objectType: string, ...keyPartsAndOptions: [...KeyPart[], RateLimitOptions] | KeyPart[]) {
    const { parts, options } = splitOptions<RateLimitOptions>(keyPartsAndOptions);
    super("rate", objectType, parts);
    const where = `RateLimiter ${objectType}:${this.key}`;
    this.limit = options?.limit;
    this.windowSeconds = options?.windowSeconds;
    this.permits = options?.permits ?? 1;
    checkCount(where, "limit", this.limit);
    checkCount(where, "permits", this.permits);
    if (this.windowSeconds !== undefined && !(Number.isFinite(this.windowSeconds) && this.windowSeconds > 0)) {
      throw new LockDefinitionError(`${where}: windowSeconds is ${this.windowSeconds}, expected a positive number`);
    }
    if (this.limit !== undefined && this.windowSeconds === undefined) {
      throw new LockDefinitionError(`${where}: a limit needs windowSeconds`);
    }
    if (this.limit !== undefined && this.permits > this.limit) {
      throw new LockDefinitionError(`${where}: permits (${this.permits}) exceed the limit (${this.limit}), it could never be acquired`);
    }
  }

  override get enabled(): boolean {
    return this.limit !== undefined;
  }

  get windowMs(): number | undefined {
    return this.windowSeconds === undefined ? undefined : Math.round(this.windowSeconds * 1000);
  }

  /** A copy with the limit from configuration (window and permits kept unless given); `limit: undefined` disables it. */
  withLimit(options: RateLimitOptions): RateLimiter {
    return new RateLimiter(this.objectType, ...this.keyParts, { windowSeconds: this.windowSeconds, permits: this.permits, ...options });
  }
}

export interface ConcurrencyLimitOptions {
  /** Maximum simultaneous holders; unset means disabled. */
  limit?: number;
}

/** At most `limit` simultaneous holders; each holder expires by TTL like a lock. */
export class ConcurrencyLimiter extends Limiter {
  readonly kind = "concurrency" as const;
  readonly limit: number | undefined;

  constructor(objectType: string, ...keyPartsAndOptions: [...KeyPart[], ConcurrencyLimitOptions] | KeyPart[]) {
    const { parts, options } = splitOptions<ConcurrencyLimitOptions>(keyPartsAndOptions);
    super("concurrency", objectType, parts);
    this.limit = options?.limit;
    checkCount(`ConcurrencyLimiter ${objectType}:${this.key}`, "limit", this.limit);
  }

  override get enabled(): boolean {
    return this.limit !== undefined;
  }

  /** A copy with the limit from configuration; `limit: undefined` disables it. */
  withLimit(options: ConcurrencyLimitOptions): ConcurrencyLimiter {
    return new ConcurrencyLimiter(this.objectType, ...this.keyParts, options);
  }
}
