import { ConcurrencyLimiter, type Lock, MutexLock, RateLimiter } from "../locks/index.ts";

/** Rate + concurrency limiter on ("task", ClassName), both disabled until a limit is configured. */
export function defaultTaskLocks(className: string): Lock[] {
  return [new RateLimiter("task", className), new ConcurrencyLimiter("task", className)];
}

/** Mutex on ("task", ClassName): a periodic task never overlaps itself. */
export function periodicTaskLocks(className: string): Lock[] {
  return [new MutexLock("task", className)];
}

/** Mutex on ("task", ClassName, vo). */
export function periodicVoTaskLocks(className: string, vo: string): Lock[] {
  return [new MutexLock("task", className, vo)];
}
