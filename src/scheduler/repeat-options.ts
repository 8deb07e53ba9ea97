import type { ScheduleSpec } from "../schedule/index.ts";

// How a schedule is stored in a BullMQ job scheduler. The kind travels inside the `pattern`, so
// the one repeat strategy that every Queue and Worker shares can tell cron from RRULE; intervals
// use BullMQ's native `every`.
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
