import { Cron } from "croner";
// rrule ships CommonJS to Node: take the named classes from its default export.
import rrulePkg from "rrule";

const { RRule, rrulestr } = rrulePkg;
type RRule = InstanceType<typeof RRule>;
import { DiracxError } from "../errors.ts";

/**
 * When a periodic task runs. `next(after)` is the first occurrence strictly
 * after `after`; schedulers pass the previous planned run (not "now") so runs
 * do not drift, and `null` means the schedule has no future occurrence.
 */
export interface Schedule {
  next(after: Date): Date | null;
  describe(): string;
}

export class InvalidScheduleError extends DiracxError {}

/** Cron expression through croner: 5 or 6 fields (seconds allowed), optional IANA time zone. */
export class CronSchedule implements Schedule {
  private readonly cron: Cron;
  constructor(
    readonly expression: string,
    readonly options: { timezone?: string } = {},
  ) {
    try {
      this.cron = new Cron(expression, { paused: true, timezone: options.timezone });
    } catch (err) {
      throw new InvalidScheduleError(`invalid cron expression '${expression}': ${(err as Error).message}`);
    }
  }
  next(after: Date): Date | null {
    return this.cron.nextRun(after);
  }
  describe(): string {
    return `cron ${this.expression}${this.options.timezone ? ` (${this.options.timezone})` : ""}`;
  }
}

/** Every N seconds. */
export class IntervalSchedule implements Schedule {
  constructor(readonly seconds: number) {
    if (!(seconds > 0)) throw new InvalidScheduleError(`interval must be a positive number of seconds, got ${seconds}`);
  }
  next(after: Date): Date {
    return new Date(after.getTime() + this.seconds * 1000);
  }
  describe(): string {
    return `every ${this.seconds}s`;
  }
}

/** RFC 5545 recurrence rule, e.g. "FREQ=HOURLY;BYMINUTE=15" or with a DTSTART line. */
export class RRuleSchedule implements Schedule {
  private readonly rule: RRule;
  constructor(readonly text: string) {
    try {
      const parsed = rrulestr(text, { forceset: false });
      if (!(parsed instanceof RRule)) throw new Error("only a single RRULE is supported");
      this.rule = parsed;
    } catch (err) {
      throw new InvalidScheduleError(`invalid RRULE '${text}': ${(err as Error).message}`);
    }
  }
  next(after: Date): Date | null {
    return this.rule.after(after, false);
  }
  describe(): string {
    return `rrule ${this.text}`;
  }
}
