import { Cron } from "croner";
// rrule ships CommonJS to Node: its named exports are reached through the default export.
import rrulePkg from "rrule";
import { DiracxError } from "../errors.ts";

const { RRule, rrulestr } = rrulePkg;
type RRule = InstanceType<typeof RRule>;

/**
 * A schedule as plain data: what a task declares through CronSchedule / IntervalSchedule /
 * RRuleSchedule, what the tasks configuration overrides, and what the scheduler stores.
 */
export type ScheduleSpec =
  | { kind: "cron"; expression: string; timezone?: string }
  | { kind: "interval"; seconds: number }
  | { kind: "rrule"; rule: string };

/** Which input field a ScheduleError is about (the configuration reports it as the key path). */
export type ScheduleField = "cron" | "timezone" | "interval" | "rrule";

/**
 * A schedule that cannot run: bad syntax, an unknown time zone, a rule with no future
 * occurrence. The message is the same wherever the schedule came from (code, configuration
 * file, hot reload); callers add only where it was found.
 */
export class ScheduleError extends DiracxError {
  constructor(
    message: string,
    readonly field?: ScheduleField,
  ) {
    super(message);
  }
}

/** Throws a ScheduleError unless `tz` is an IANA time zone name known to this Node. */
export function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
  } catch {
    throw new ScheduleError(`unknown time zone '${tz}' (expected an IANA name such as Europe/Zurich)`, "timezone");
  }
}

/**
 * A croner instance that only computes dates (`paused`: croner never starts a timer of its own).
 * Exactly 5 fields, or 6 with seconds first: croner would also take a 7th (year) field and
 * nicknames such as `@daily`, which the documented format does not promise.
 */
export function parseCron(expression: string, timezone?: string): Cron {
  const fields = expression.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new ScheduleError(`invalid cron expression '${expression}': expected 5 fields, or 6 with seconds first, got ${fields.length}`, "cron");
  }
  if (timezone !== undefined) checkTimeZone(timezone);
  try {
    return new Cron(expression, { paused: true, ...(timezone !== undefined ? { timezone } : {}) });
  } catch (err) {
    throw new ScheduleError(`invalid cron expression '${expression}': ${(err as Error).message}`, "cron");
  }
}

/** Whether an RRULE text pins its own series start; without one the scheduler anchors it (anchorRRule). */
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

/** One RFC 5545 recurrence rule (a set of several rules is refused: one schedule, one series). */
export function parseRRule(rule: string, anchor?: Date): RRule {
  const shown = rule.replace(/\n/g, "\\n");
  let parsed: unknown;
  try {
    parsed = rrulestr(anchor ? anchorRRule(rule, anchor) : rule, { forceset: false });
  } catch (err) {
    throw new ScheduleError(`invalid RRULE '${shown}': ${(err as Error).message}`, "rrule");
  }
  if (!(parsed instanceof RRule)) throw new ScheduleError(`invalid RRULE '${shown}': only a single RRULE is supported`, "rrule");
  return parsed;
}

/** Throws a ScheduleError unless `seconds` is a usable interval (BullMQ counts in whole milliseconds). */
export function checkInterval(seconds: number): void {
  if (!(Number.isFinite(seconds) && seconds >= 0.001)) {
    throw new ScheduleError(`invalid interval ${seconds}: expected a positive number of seconds`, "interval");
  }
}

/** Validates the syntax of a schedule (not whether it has occurrences left); returns it unchanged. */
export function checkSchedule<S extends ScheduleSpec>(spec: S): S {
  switch (spec.kind) {
    case "cron":
      parseCron(spec.expression, spec.timezone);
      break;
    case "interval":
      checkInterval(spec.seconds);
      break;
    case "rrule":
      parseRRule(spec.rule);
      break;
  }
  return spec;
}

/**
 * The first occurrence strictly after `after`, or undefined when the schedule has none left
 * (an RRULE past its COUNT/UNTIL). An invalid schedule throws its ScheduleError.
 */
export function nextOccurrence(spec: ScheduleSpec, after: Date): Date | undefined {
  switch (spec.kind) {
    case "interval":
      checkInterval(spec.seconds);
      return new Date(after.getTime() + spec.seconds * 1000);
    case "cron":
      return parseCron(spec.expression, spec.timezone).nextRun(after) ?? undefined;
    case "rrule":
      return parseRRule(spec.rule, after).after(after, false) ?? undefined;
  }
}

/** Throws a ScheduleError when the schedule cannot run from `now` on (bad syntax or exhausted). */
export function validateSchedule(spec: ScheduleSpec, now: Date): void {
  if (nextOccurrence(spec, now) === undefined) throw new ScheduleError(`${formatSchedule(spec)} has no future occurrence (the rule is exhausted)`);
}

/** One short human-readable form (`cron:…`, `every:…s`, `rrule:…`). */
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

/**
 * The spec of the configuration's `schedule:` form — exactly one of `cron` (with an optional
 * `timezone`), `interval` (seconds) or `rrule`; a bare string is a cron — validated.
 */
export function scheduleFromInput(input: { cron?: string; timezone?: string; interval?: number; rrule?: string } | string): ScheduleSpec {
  const s = typeof input === "string" ? { cron: input } : input;
  const kinds = (["cron", "interval", "rrule"] as const).filter((k) => s[k] !== undefined);
  if (kinds.length !== 1) throw new ScheduleError(kinds.length ? `give only one of ${kinds.join(", ")}` : "expected one of cron, interval, rrule");
  if (s.timezone !== undefined && s.cron === undefined) throw new ScheduleError("a time zone is only allowed with cron", "timezone");
  if (s.cron !== undefined) return checkSchedule(s.timezone !== undefined ? { kind: "cron", expression: s.cron, timezone: s.timezone } : { kind: "cron", expression: s.cron });
  if (s.interval !== undefined) return checkSchedule({ kind: "interval", seconds: s.interval });
  return checkSchedule({ kind: "rrule", rule: s.rrule as string });
}
