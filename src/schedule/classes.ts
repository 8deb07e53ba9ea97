import { checkSchedule, formatSchedule, nextOccurrence, ScheduleError, type ScheduleSpec } from "./spec.ts";

/**
 * When a periodic task runs. `next(after)` is the first occurrence strictly after `after`;
 * schedulers pass the previous planned run (not "now") so runs do not drift, and `null` means
 * the schedule has no future occurrence. `spec` is what the scheduler stores.
 */
export interface Schedule {
  readonly spec: ScheduleSpec;
  next(after: Date): Date | null;
  describe(): string;
}

// The classes are thin: they validate at construction (a bad schedule fails where it is
// written, with the same ScheduleError the configuration reports) and delegate the rest.
abstract class SpecSchedule implements Schedule {
  constructor(readonly spec: ScheduleSpec) {
    checkSchedule(spec);
  }
  next(after: Date): Date | null {
    return nextOccurrence(this.spec, after) ?? null;
  }
  describe(): string {
    return formatSchedule(this.spec);
  }
}

/** Cron expression through croner: 5 fields, or 6 with seconds first; optional IANA time zone. */
export class CronSchedule extends SpecSchedule {
  constructor(
    readonly expression: string,
    readonly options: { timezone?: string } = {},
  ) {
    super(options.timezone !== undefined ? { kind: "cron", expression, timezone: options.timezone } : { kind: "cron", expression });
  }
}

/** Every N seconds. */
export class IntervalSchedule extends SpecSchedule {
  constructor(readonly seconds: number) {
    super({ kind: "interval", seconds });
  }
}

/** RFC 5545 recurrence rule, e.g. "FREQ=HOURLY;BYMINUTE=15" or with a DTSTART line. */
export class RRuleSchedule extends SpecSchedule {
  constructor(readonly text: string) {
    super({ kind: "rrule", rule: text });
  }
}

/** The spec of a task's `defaultSchedule`; anything but the three classes is refused, naming `where`. */
export function specOfSchedule(schedule: Schedule, where: string): ScheduleSpec {
  if (schedule instanceof SpecSchedule) return schedule.spec;
  throw new ScheduleError(`unsupported schedule ${schedule.describe()} at ${where} (use CronSchedule, IntervalSchedule or RRuleSchedule)`);
}
