import { parseSchedule, ScheduleError, type ScheduleSpec } from "./spec.ts";
import { queueNameFor, scheduledJobTemplate, type Priority, type Size } from "./engine-bridge.ts";

/** What the scheduler needs to know about one periodic task class. */
export interface PeriodicTaskInfo {
  taskId: string;
  /** PeriodicVoAwareTask: one schedule per VO, the VO passed as the `vo` argument. */
  voAware: boolean;
  /** The class's own enabled flag (code default). */
  enabled: boolean;
  schedule: ScheduleSpec;
  priority: Priority;
  size: Size;
}

/** A named variant of a periodic task for one VO (or for all VOs): its own args, maybe its own schedule. */
export interface ScheduleVariant {
  args?: Record<string, unknown>;
  schedule?: unknown;
  enabled?: boolean;
}

/** The tasks configuration resolved for (task, VO): code defaults ← common ← vo-overrides.<vo>. */
export interface ScheduleSettings {
  enabled?: boolean;
  /** Schedule override (text such as `cron:…`/`every:30s`/`rrule:…`, or a ScheduleSpec). */
  schedule?: unknown;
  variants?: Record<string, ScheduleVariant>;
}

export interface DesiredInputs {
  vos: readonly string[];
  /** Resolved settings for a task, `vo` undefined for a task that is not VO-aware. */
  settings: (taskId: string, vo: string | undefined) => ScheduleSettings | undefined;
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
  /** The job each run submits (engine job shape). */
  template: { name: string; data: Record<string, unknown>; opts: { priority?: number } };
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

export function parseScheduleId(id: string): { taskId: string; vo?: string; variant?: string } {
  const m = /^([^@#]+)(?:@([^#]+))?(?:#(.+))?$/.exec(id);
  if (!m) return { taskId: id };
  return { taskId: m[1]!, ...(m[2] ? { vo: m[2] } : {}), ...(m[3] ? { variant: m[3] } : {}) };
}

/** Desired schedules = periodic tasks × VOs × variants, with configuration overrides applied. */
export function computeDesiredSchedules(
  tasks: readonly PeriodicTaskInfo[],
  inputs: DesiredInputs,
): { schedules: DesiredSchedule[]; problems: ScheduleProblem[] } {
  const schedules: DesiredSchedule[] = [];
  const problems: ScheduleProblem[] = [];
  for (const task of tasks) {
    const scopes: (string | undefined)[] = task.voAware ? [...inputs.vos] : [undefined];
    for (const vo of scopes) {
      const settings = inputs.settings(task.taskId, vo) ?? {};
      if (!(settings.enabled ?? task.enabled)) continue;
      const where = `Tasks ${vo ? `vo-overrides.${vo}` : "common"}.${task.taskId}`;
      const base = { taskId: task.taskId, priority: task.priority, size: task.size, queue: queueNameFor(task.size) };
      const make = (variant: string | undefined, scheduleValue: unknown, extraArgs: Record<string, unknown>): void => {
        const id = scheduleId(task.taskId, vo, variant);
        try {
          const spec = scheduleValue === undefined ? task.schedule : parseSchedule(scheduleValue, `${where}${variant ? `.variants.${variant}` : ""}.schedule`);
          const args = { ...extraArgs, ...(vo ? { vo } : {}) };
          schedules.push({
            ...base,
            id,
            ...(vo ? { vo } : {}),
            ...(variant ? { variant } : {}),
            spec,
            args,
            template: scheduledJobTemplate(task.taskId, args, task.priority),
          });
        } catch (err) {
          if (!(err instanceof ScheduleError)) throw err;
          problems.push({ id, message: err.message });
        }
      };
      make(undefined, settings.schedule, {});
      for (const [name, variant] of Object.entries(settings.variants ?? {})) {
        if (variant.enabled === false) continue;
        make(name, variant.schedule ?? settings.schedule, variant.args ?? {});
      }
    }
  }
  return { schedules, problems };
}
