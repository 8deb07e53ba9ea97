export { Lock, Limiter, MutexLock, ExclusiveRWLock, SharedRWLock, RateLimiter, ConcurrencyLimiter } from "./lock.ts";
export type { KeyPart, RateLimitOptions, ConcurrencyLimitOptions } from "./lock.ts";
export { LockManager } from "./manager.ts";
export type { AcquireOptions, AcquireResult, HeldLocks, HolderInfo, LockHolder, LockInfo } from "./manager.ts";
export { LockDefinitionError, LockLostError } from "./errors.ts";
export type { LockKind, KeyFamily } from "./keys.ts";
