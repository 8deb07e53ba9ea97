/**
 * The one place that decides which limiters an attempt takes. The engine adds the task's
 * configured limiters to whatever its `locks()` returns, so a task that declares its own locks
 * (a mutex per job, say) is throttled by its configuration like any other; whether the
 * configuration applies is not left to each `locks()` body.
 *
 * Limits are read from the tasks configuration (code defaults ← common ← vo-overrides) at every
 * attempt, so a hot-reloaded configuration applies at once.
 * - Task limits (`limits.rate`, `limits.concurrency`) are limiters on ("task", ClassName): one
 *   pool for all runs. A VO whose override sets (or removes, with `null`) one of them gets its
 *   own pool for it, on ("task", ClassName, vo): its limit counts that VO's runs only, and its
 *   runs no longer count against the common pool. A configured limit replaces the task's own
 *   limiter of that kind.
 * - Per-object limits (`limits.perObject.<type>.<name>` or `.default`) apply to every object the
 *   task locks or limits: a limiter on that object is added, or the declared one gets the
 *   configured limit. An object is shared by every VO, so its pool is too.
 */
import { resolveObjectLimit, resolveTaskSettings, type Limits, type TasksConfig } from "../config/tasks-config.ts";
import { ConcurrencyLimiter, type Lock, RateLimiter } from "../locks/index.ts";
import type { LimitsResolver } from "./ports.ts";

type LimiterKind = "rate" | "concurrency";
const KINDS: readonly LimiterKind[] = ["rate", "concurrency"];

function limiter(kind: LimiterKind, objectType: string, parts: readonly string[], limits: Limits): Lock | undefined {
  if (kind === "rate") return limits.rate ? new RateLimiter(objectType, ...parts, { limit: limits.rate.limit, windowSeconds: limits.rate.windowSeconds }) : undefined;
  return limits.concurrency ? new ConcurrencyLimiter(objectType, ...parts, { limit: limits.concurrency.limit }) : undefined;
}

/** The locks an attempt takes: `declared` with the configured limiters of `taskId` (and `vo`). */
export function configuredLocks(config: TasksConfig, taskId: string, vo: string | undefined, declared: readonly Lock[]): Lock[] {
  const common = config.common[taskId]?.limits;
  const own = vo === undefined ? undefined : config["vo-overrides"][vo]?.[taskId]?.limits;
  if (!common && !own) return declared as Lock[];
  const resolved = resolveTaskSettings(config, taskId, vo);
  const className = taskId.slice(taskId.indexOf(":") + 1);
  const isTaskOwn = (l: Lock, kind: LimiterKind): boolean =>
    l.kind === kind && l.objectType === "task" && (l.key === className || (vo !== undefined && l.key === `${className}:${vo}`));

  let out: Lock[] = [...declared];
  const added: Lock[] = [];
  for (const kind of KINDS) {
    if (common?.[kind] === undefined && own?.[kind] === undefined) continue;
    out = out.filter((l) => !isTaskOwn(l, kind));
    const parts = own?.[kind] !== undefined && vo !== undefined ? [className, vo] : [className];
    const lock = limiter(kind, "task", parts, resolved.limits);
    if (lock) added.push(lock);
  }

  if (Object.keys(resolved.perObject).length > 0) {
    const byKey = new Map(out.map((l, i) => [l.redisKey, i] as const));
    const seen = new Set<string>();
    for (const lock of [...out]) {
      if (lock.objectType === "task" || !resolved.perObject[lock.objectType]) continue;
      const object = `${lock.objectType}\0${lock.key}`;
      if (seen.has(object)) continue;
      seen.add(object);
      const limits = resolveObjectLimit(resolved, lock.objectType, lock.key);
      for (const kind of KINDS) {
        const configured = limiter(kind, lock.objectType, [lock.key], limits);
        if (!configured) continue;
        const at = byKey.get(configured.redisKey);
        if (at === undefined) added.push(configured);
        else out[at] = configured;
      }
    }
  }
  return added.length ? [...out, ...added] : out;
}

/** The engine's LimitsResolver on the (hot-reloaded) tasks configuration. */
export function limitsFromTasksConfig(current: () => TasksConfig | undefined): LimitsResolver {
  return (taskId, vo, declared) => {
    const config = current();
    return config ? configuredLocks(config, taskId, vo, declared) : declared;
  };
}
