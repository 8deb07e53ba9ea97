import { listVOs } from "../config/schema.ts";
import type { TasksConfigSource } from "../config/source.ts";
import { checkTasksConfig, type TasksConfig } from "../config/tasks-config.ts";
import { isPeriodicTaskClass, isVoAwareTaskClass, type TaskClass } from "../engine/task.ts";
import type { TaskRegistry } from "../engine/task-registry.ts";
import { lockObjectTypes } from "../locks/object-types.ts";

/** Whether a `vo-overrides.<vo>` entry can apply to the task: one schedule per VO, or a `vo` argument (the producer labels it). */
function takesVo(cls: TaskClass): boolean {
  if (isVoAwareTaskClass(cls)) return true;
  const shape = (cls.args as { shape?: Record<string, unknown> }).shape;
  return shape !== undefined && "vo" in shape;
}

/**
 * Every problem of a tasks configuration against the tasks the registry loaded, the VOs of the
 * DiracX configuration and the registered lock object types (call after loadLockObjectTypes).
 * One line each, key path first. Used at the start of every process reading the
 * configuration, on every reload, and by `diracx-tasks config check`.
 */
export function tasksConfigProblems(tasksConfig: TasksConfig | undefined, tasks: TaskRegistry, vos: readonly string[]): string[] {
  const entries = tasks.entries();
  return checkTasksConfig(tasksConfig, {
    taskIds: entries.map(([id]) => id),
    periodicTaskIds: entries.filter(([, cls]) => isPeriodicTaskClass(cls)).map(([id]) => id),
    voTaskIds: entries.filter(([, cls]) => takesVo(cls)).map(([id]) => id),
    vos,
    lockObjectTypes: lockObjectTypes(),
  });
}

/** Checks a tasks configuration source now (throws a ConfigError listing every problem) and rejects any reload with a problem. */
export function checkTasksConfigSource(source: Pick<TasksConfigSource, "addCheck">, tasks: TaskRegistry): void {
  source.addCheck((t, config) => tasksConfigProblems(t, tasks, listVOs(config)));
}
