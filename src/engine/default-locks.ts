import type { EngineLock } from "./ports.ts";

// The default locks of each kind of task. Real lock classes come from
// src/locks (locks stream); until it is merged these build plain descriptors
// with the same keys, so the engine and its tests run unchanged.
// TODO(merge locks): build RateLimiter / ConcurrencyLimiter / MutexLock here.

function descriptor(kind: "mutex" | "rate" | "conc", objectType: string, parts: string[]): EngineLock {
  const key = [objectType, ...parts].join(":");
  const isLimiter = kind !== "mutex";
  return { objectType, key, redisKey: `${isLimiter ? "limiter" : "lock"}:${kind}:${key}`, isLimiter };
}

/** Rate + concurrency limiter on ("task", ClassName), both disabled until a limit is configured. */
export function defaultTaskLocks(className: string): EngineLock[] {
  return [descriptor("rate", "task", [className]), descriptor("conc", "task", [className])];
}

/** Mutex on ("task", ClassName): a periodic task never overlaps itself. */
export function periodicTaskLocks(className: string): EngineLock[] {
  return [descriptor("mutex", "task", [className])];
}

/** Mutex on ("task", ClassName, vo). */
export function periodicVoTaskLocks(className: string, vo: string): EngineLock[] {
  return [descriptor("mutex", "task", [className, vo])];
}
