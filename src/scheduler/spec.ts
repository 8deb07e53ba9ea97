import { DiracxError } from "../errors.ts";
import { CronSchedule, IntervalSchedule, RRuleSchedule, type Schedule } from "../engine/schedules.ts";
import type { ScheduleSpec } from "../config/tasks-config.ts";

/**
 * A schedule as plain data (the tasks configuration's type): what task code declares through
 * the engine's schedule classes and what the configuration overrides. It becomes BullMQ repeat
 * options through `toRepeatOptions` and is read back by `fromRepeatOptions`.
 */
export type { ScheduleSpec };

/** A schedule that cannot run: bad syntax, unknown time zone, a rule with no future occurrence. */
export class ScheduleError extends DiracxError {}

// The kind travels inside the job scheduler's `pattern`, so the one repeat strategy that every
// Queue and Worker shares can tell cron from RRULE; intervals use BullMQ's native `every`.
const CRON_PREFIX = "cron:";
const RRULE_PREFIX = "rrule:";

/** The BullMQ repeat options of a schedule (pattern or every, plus the time zone). */
export function toRepeatOptions(spec: ScheduleSpec): { pattern?: string; every?: number; tz?: string } {
  switch (spec.kind) {
    case "cron":
      return spec.timezone ? { pattern: CRON_PREFIX + spec.expression, tz: spec.timezone } : { pattern: CRON_PREFIX + spec.expression };
    case "rrule":
      return { pattern: RRULE_PREFIX + spec.rule };
    case "interval":
      return { every: Math.round(spec.seconds * 1000) };
  }
}

/** The schedule a stored job scheduler stands for, or undefined when it was not written by us. */
export function fromRepeatOptions(opts: { pattern?: string | null; every?: number | null; tz?: string | null }): ScheduleSpec | undefined {
  if (opts.every) return { kind: "interval", seconds: opts.every / 1000 };
  const pattern = opts.pattern ?? "";
  if (pattern.startsWith(CRON_PREFIX)) {
    const expression = pattern.slice(CRON_PREFIX.length);
    return opts.tz ? { kind: "cron", expression, timezone: opts.tz } : { kind: "cron", expression };
  }
  if (pattern.startsWith(RRULE_PREFIX)) return { kind: "rrule", rule: pattern.slice(RRULE_PREFIX.length) };
  return undefined;
}

/** One short human-readable form, also accepted back by `parseSchedule`. */
export function formatSchedule(spec: ScheduleSpec): string {
  switch (spec.kind) {
    case "cron":
      return spec.timezone ? `cron:${spec.expression} (${spec.timezone})` : `cron:${spec.expression}`;
    case "interval":
      return `every:${spec.seconds}s`;
    case "rrule":
      return `rrule:${spec.rule.replace(/\n/g, "\\n")}`;
  }
}

/** The plain spec of one of the engine's schedule classes (a task's `defaultSchedule`). */
export function specOfSchedule(schedule: Schedule, where: string): ScheduleSpec {
  if (schedule instanceof CronSchedule) {
    return schedule.options.timezone ? { kind: "cron", expression: schedule.expression, timezone: schedule.options.timezone } : { kind: "cron", expression: schedule.expression };
  }
  if (schedule instanceof IntervalSchedule) return { kind: "interval", seconds: schedule.seconds };
  if (schedule instanceof RRuleSchedule) return { kind: "rrule", rule: schedule.text };
  throw new ScheduleError(`unsupported schedule ${schedule.describe()} at ${where} (use CronSchedule, IntervalSchedule or RRuleSchedule)`);
}
