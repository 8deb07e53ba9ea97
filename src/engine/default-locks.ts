import { ConcurrencyLimiter, type Lock, MutexLock, RateLimiter } from "../locks/index.ts";

// Lock objects are immutable, so the default ones are built once per key and
// handed out in a fresh array (a task may extend the list it gets).
const cache = new Map<string, readonly Lock[]>();

function cached(key: string, build: () => Lock[]): Lock[] {
  let locks = cache.get(key);
  if (!locks) {
    locks = Object.freeze(build());
    cache.set(key, locks);
  }
  return [...locks];
}

/** Rate + concurrency limiter on ("task", ClassName), both disabled until a limit is configured. */
export function defaultTaskLocks(className: string): Lock[] {
  return cached(`task\0${className}`, () => [new RateLimiter("task", className), new ConcurrencyLimiter("task", className)]);
}

/** Mutex on ("task", ClassName): a periodic task never overlaps itself. */
export function periodicTaskLocks(className: string): Lock[] {
  return cached(`periodic\0${className}`, () => [new MutexLock("task", className)]);
}

/** Mutex on ("task", ClassName, vo). */
export function periodicVoTaskLocks(className: string, vo: string): Lock[] {
  return [new MutexLock("task", className, vo)];
}
