import { resolveTaskSettings, type TasksConfig } from "../config/tasks-config.ts";
import { validateArgs } from "../engine/producer.ts";
import { isPeriodicTaskClass, isVoAwareTaskClass, type TaskClass } from "../engine/task.ts";
import type { TaskRegistry } from "../engine/task-registry.ts";
import { DiracxError } from "../errors.ts";
import { queueNameFor, scheduledJobTemplate, type JobTemplate, type Priority, type Size } from "./engine-bridge.ts";
import { specOfSchedule, type ScheduleSpec } from "../schedule/index.ts";

/** What the scheduler needs to know about one periodic task class. */
export interface PeriodicTaskInfo {
  taskId: string;
  /** PeriodicVoAwareTask: one schedule per VO, the VO passed as the `vo` argument. */
  voAware: boolean;
  /** The class's own enabled flag (code default). */
  enabled: boolean;
  /** The class's default schedule; undefined: runs only where the configuration gives one. */
  schedule: ScheduleSpec | undefined;
  priority: Priority;
  size: Size;
  /** Validates a schedule's args against the task's schema (throws a DiracxError). */
  validateArgs?: (args: Record<string, unknown>) => Record<string, unknown>;
}

/** One schedule the scheduler should keep in Redis. */
export interface DesiredSchedule {
  id: string;
  taskId: string;
  vo?: string;
  variant?: string;
  spec: ScheduleSpec;
  args: Record<string, unknown>;
  priority: Priority;
  size: Size;
  queue: string;
  /** The job each run submits (the engine's job shape). */
  template: JobTemplate;
}

/** A schedule that could not be built; reported for that schedule only. */
export interface ScheduleProblem {
  id: string;
  message: string;
}

/**
 * Deterministic schedule id: every scheduler process derives the same id for the same
 * (task, VO, variant), which is what makes concurrent upserts collapse into one schedule.
 */
export function scheduleId(taskId: string, vo?: string, variant?: string): string {
  return `${taskId}${vo ? `@${vo}` : ""}${variant ? `#${variant}` : ""}`;
}

/** The periodic tasks of a task registry (PeriodicTask / PeriodicVoAwareTask subclasses). */
export function periodicTasks(registry: TaskRegistry): PeriodicTaskInfo[] {
  const out: PeriodicTaskInfo[] = [];
  for (const [taskId, cls] of registry.entries()) {
    if (!isPeriodicTaskClass(cls)) continue;
    out.push({
      taskId,
      voAware: isVoAwareTaskClass(cls),
      enabled: cls.enabled,
      schedule: cls.defaultSchedule ? specOfSchedule(cls.defaultSchedule, `task ${taskId} (defaultSchedule)`) : undefined,
      priority: cls.priority,
      size: cls.size,
      validateArgs: (args) => validateArgs(taskId, cls as TaskClass, args),
    });
  }
  return out;
}

/**
 * Desired schedules = periodic tasks × VOs (VO-aware tasks) × variants, each resolved through
 * the tasks configuration (code defaults ← common ← vo-overrides.<vo>): disabled tasks have none,
 * schedule overrides apply, variants bring their own args.
 */
export function computeDesiredSchedules(
  tasks: readonly PeriodicTaskInfo[],
  inputs: { vos: readonly string[]; tasksConfig: TasksConfig | undefined },
): { schedules: DesiredSchedule[]; problems: ScheduleProblem[] } {
  const schedules: DesiredSchedule[] = [];
  const problems: ScheduleProblem[] = [];
  for (const task of tasks) {
    const scopes: (string | undefined)[] = task.voAware ? [...inputs.vos] : [undefined];
    for (const vo of scopes) {
      const resolved = resolveTaskSettings(inputs.tasksConfig, task.taskId, vo, {
        enabled: task.enabled,
        ...(task.schedule ? { schedule: task.schedule } : {}),
      });
      for (const s of resolved.schedules) {
        const id = scheduleId(task.taskId, vo, s.variant);
        try {
          const raw = { ...s.args, ...(vo ? { vo } : {}) };
          const args = task.validateArgs ? task.validateArgs(raw) : raw;
          schedules.push({
            id,
            taskId: task.taskId,
            ...(vo ? { vo } : {}),
            ...(s.variant ? { variant: s.variant } : {}),
            spec: s.schedule,
            args,
            priority: task.priority,
            size: task.size,
            queue: queueNameFor(task.size),
            template: scheduledJobTemplate(task.taskId, args, task.priority, id),
          });
        } catch (err) {
          if (!(err instanceof DiracxError)) throw err;
          problems.push({ id, message: `schedule ${id}: ${err.message}` });
        }
      }
    }
  }
  return { schedules, problems };
}

/**
 * A desired-schedule source reading the current configuration: VOs from the DiracX document,
 * the tasks configuration from wherever it lives (the document's `Tasks` section or
 * DIRACX_TASKS_CONFIG; see TasksConfigSource).
 */
export function desiredFromConfig(
  tasks: readonly PeriodicTaskInfo[],
  config: { current(): { Registry: Record<string, unknown> } },
  tasksConfig: { current(): TasksConfig | undefined },
): () => { schedules: DesiredSchedule[]; problems: ScheduleProblem[] } {
  return () => computeDesiredSchedules(tasks, { vos: Object.keys(config.current().Registry), tasksConfig: tasksConfig.current() });
}

/** Calls `listener` when any of the sources changes; returns the unsubscribe function. */
export function onAnyChange(sources: readonly { onChange(cb: () => void): () => void }[], listener: () => void): () => void {
  const offs = sources.map((s) => s.onChange(() => listener()));
  return () => offs.forEach((off) => off());
}
