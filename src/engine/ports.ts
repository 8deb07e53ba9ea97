/**
 * What the engine needs from its collaborators (locks, unit of work), as
 * structural types matching the contracts in CONTRACTS.md. The engine codes
 * against these so the worker can be wired to the real modules (src/locks,
 * src/db) in one place, and tests can wire them explicitly.
 */
export interface EngineLock {
  readonly objectType: string;
  readonly key: string;
  readonly redisKey: string;
  readonly isLimiter: boolean;
}

/** Opaque handle for the locks one attempt holds. */
export type HeldLocksHandle = unknown;

export type AcquireResult = { acquired: true; held: HeldLocksHandle } | { acquired: false; blockedBy: string };

export interface EngineLockManager {
  acquireAll(locks: EngineLock[], ownerId: string, ttlMs: number, opts?: { skipLimiters?: boolean }): Promise<AcquireResult>;
  extendAll(held: HeldLocksHandle, ttlMs: number): Promise<{ lost: string[] }>;
  releaseAll(held: HeldLocksHandle): Promise<void>;
}

/**
 * Dependency tokens a task declares (DB classes, settings classes, the Config
 * token…): names → tokens, resolved by `openUnitOfWork`.
 */
export type DependencySpec = Record<string, unknown>;

/** What a token resolves to at execution: settings → their instance, classes → an instance, tagged tokens → their value. */
export type ResolvedDependency<T> = T extends { fromEnv(...args: never[]): infer S }
  ? S
  : T extends { readonly __resolvesTo?: infer R }
    ? R
    : T extends abstract new (...args: never[]) => infer I
      ? I
      : unknown;

export type ResolvedDependencies<D> = { [K in keyof D]: ResolvedDependency<D[K]> };

export interface UnitOfWork<D = Record<string, unknown>> {
  deps: D;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** Opens one transaction per declared DB for one attempt. */
export type OpenUnitOfWork = (spec: DependencySpec) => Promise<UnitOfWork>;

/** Limits from the tasks configuration for one lock of one task (feeds limiter classes). */
export interface LockLimits {
  limit?: number;
  windowSeconds?: number;
}

/** Hook the tasks configuration plugs into: limits for `lock` of task `taskId` (and VO). */
export type LimitsResolver = (taskId: string, vo: string | undefined, lock: EngineLock) => LockLimits | undefined;
