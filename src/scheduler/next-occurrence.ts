import { Cron } from "croner";
import rrulePkg from "rrule";
import { ScheduleError, type ScheduleSpec } from "./spec.ts";

// rrule ships CommonJS for Node; its named exports are reached through the default export.
const { rrulestr } = rrulePkg as unknown as typeof import("rrule");

function cronOf(expression: string, timezone: string | undefined, where: string): Cron {
  try {
    // `paused` so croner never starts a timer of its own: we only ask it for dates.
    const cron = new Cron(expression, { paused: true, ...(timezone ? { timezone } : {}) });
    // An unknown time zone only shows when a date is computed.
    cron.nextRun(new Date(0));
    return cron;
  } catch (err) {
    throw new ScheduleError(`invalid cron expression '${expression}'${timezone ? ` (time zone ${timezone})` : ""} at ${where}: ${(err as Error).message}`);
  }
}

/** Whether an RRULE text pins its own series start; without one we anchor it (see anchorRRule). */
export function hasDtstart(rule: string): boolean {
  return /(^|\n)DTSTART[:;]/i.test(rule);
}

/**
 * Pins an RRULE's series start. A rule without DTSTART would otherwise be re-anchored at every
 * computation, so `FREQ=HOURLY;INTERVAL=5` would drift with each run (an upstream defect); the
 * scheduler stores the anchored rule once, when the schedule is created.
 */
export function anchorRRule(rule: string, at: Date): string {
  if (hasDtstart(rule)) return rule;
  const stamp = new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  return `DTSTART:${stamp}\n${/^RRULE:/i.test(rule) ? rule : `RRULE:${rule}`}`;
}

function rruleOf(rule: string, anchor: Date, where: string): ReturnType<typeof rrulestr> {
  try {
    return rrulestr(anchorRRule(rule, anchor));
  } catch (err) {
    throw new ScheduleError(`invalid RRULE '${rule.replace(/\n/g, "\\n")}' at ${where}: ${(err as Error).message}`);
  }
}

/**
 * The first occurrence strictly after `after`, or undefined when the schedule has none left
 * (an RRULE past its COUNT/UNTIL). Bad syntax throws a ScheduleError naming `where`.
 */
export function nextOccurrence(spec: ScheduleSpec, after: Date, where = "schedule"): Date | undefined {
  switch (spec.kind) {
    case "interval":
      if (!(spec.seconds > 0)) throw new ScheduleError(`invalid interval ${spec.seconds}s at ${where} (must be > 0)`);
      return new Date(after.getTime() + spec.seconds * 1000);
    case "cron":
      return cronOf(spec.expression, spec.timezone, where).nextRun(after) ?? undefined;
    case "rrule":
      return rruleOf(spec.rule, after, where).after(after, false) ?? undefined;
  }
}

/** Throws a ScheduleError when the schedule cannot run from `now` on (bad syntax or exhausted). */
export function validateSchedule(spec: ScheduleSpec, now: Date, where: string): void {
  if (nextOccurrence(spec, now, where) === undefined) {
    throw new ScheduleError(`${where} has no future occurrence (the rule is exhausted)`);
  }
}
