import { resolveObjectLimit, resolveTaskSettings, type Limits, type TasksConfig } from "../config/tasks-config.ts";
import type { Lock } from "../locks/index.ts";
import type { LimitsResolver } from "./ports.ts";

/**
 * Limits from the tasks configuration (code defaults ← common ← vo-overrides),
 * read at every attempt so a hot-reloaded configuration applies at once
 * (upstream parsed this configuration and never used it). The task's own
 * limiters on ("task", ClassName) take the task-level limits; limiters on any
 * other object take the per-object limits (`perObject.<type>.<name>` or its
 * `default`).
 */
export function limitsFromTasksConfig(current: () => TasksConfig | undefined): LimitsResolver {
  return (taskId: string, vo: string | undefined, lock: Lock): Limits | undefined => {
    const config = current();
    if (!config) return undefined;
    const resolved = resolveTaskSettings(config, taskId, vo);
    const className = taskId.slice(taskId.indexOf(":") + 1);
    if (lock.objectType === "task" && lock.key === className) return resolved.limits;
    return resolveObjectLimit(resolved, lock.objectType, lock.key);
  };
}
