import { lockObjectTypes } from "../locks/object-types.ts";
import { listVOs } from "./schema.ts";
import type { TasksConfigSource } from "./source.ts";
import { checkTasksConfig, type TasksConfig } from "./tasks-config.ts";

/** What a tasks configuration is checked against: the ids of the loaded tasks, by kind. */
export interface KnownTasks {
  taskIds: string[];
  /** Tasks with a default schedule (a `schedule` entry applies to them). */
  periodicTaskIds: string[];
  /** Tasks a `vo-overrides.<vo>` entry can apply to (one schedule per VO, or a `vo` argument). */
  voTaskIds: string[];
}

/** The engine's task registry, as far as the check needs it (the configuration sits below the engine). */
export interface TaskCatalogue {
  known(): KnownTasks;
}

/**
 * Every problem of a tasks configuration against the tasks the registry loaded, the VOs of the
 * DiracX configuration and the registered lock object types (call after loadLockObjectTypes).
 * One line each, key path first. Used at the start of every process reading the
 * configuration, on every reload, and by `diracx-tasks config check`.
 */
export function tasksConfigProblems(tasksConfig: TasksConfig | undefined, tasks: TaskCatalogue, vos: readonly string[]): string[] {
  return checkTasksConfig(tasksConfig, { ...tasks.known(), vos, lockObjectTypes: lockObjectTypes() });
}

/** Checks a tasks configuration source now (throws a ConfigError listing every problem) and rejects any reload with a problem. */
export function checkTasksConfigSource(source: Pick<TasksConfigSource, "addCheck">, tasks: TaskCatalogue): void {
  source.addCheck((t, config) => tasksConfigProblems(t, tasks, listVOs(config)));
}
