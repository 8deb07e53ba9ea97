import { DiracxError } from "../errors.ts";

/**
 * A schedule as plain data: what task code declares (through the engine's schedule classes)
 * and what the tasks configuration overrides. It is turned into BullMQ repeat options by
 * `toRepeatOptions` and read back from a stored job scheduler by `fromRepeatOptions`.
 */
export type ScheduleSpec =
  | { kind: "cron"; expression: string; timezone?: string }
  | { kind: "interval"; seconds: number }
  | { kind: "rrule"; rule: string };

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

/**
 * Reads a schedule written as text (tasks configuration, CLI): `cron:<expr>`, `every:<N>[s|m|h]`,
 * `rrule:<RFC 5545 rule>`, or a bare cron expression. Objects of the `ScheduleSpec` shape, and the
 * engine's schedule value classes (which carry the same fields), pass through. `where` names the
 * place the value came from for the error message.
 */
export function parseSchedule(value: unknown, where: string): ScheduleSpec {
  if (typeof value === "string") {
    const text = value.trim();
    if (text.startsWith(RRULE_PREFIX)) return { kind: "rrule", rule: text.slice(RRULE_PREFIX.length).replace(/\\n/g, "\n") };
    if (text.startsWith("every:")) {
      const m = /^every:\s*(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(text);
      if (!m) throw new ScheduleError(`invalid interval '${text}' at ${where} (expected every:<N>[s|m|h])`);
      const factor = m[2] === "h" ? 3600 : m[2] === "m" ? 60 : 1;
      return { kind: "interval", seconds: Number(m[1]) * factor };
    }
    const expression = text.startsWith(CRON_PREFIX) ? text.slice(CRON_PREFIX.length).trim() : text;
    return { kind: "cron", expression };
  }
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (o.kind === "cron" && typeof o.expression === "string") {
      const tz = typeof o.timezone === "string" ? o.timezone : undefined;
      return tz ? { kind: "cron", expression: o.expression, timezone: tz } : { kind: "cron", expression: o.expression };
    }
    if (o.kind === "interval" && typeof o.seconds === "number") return { kind: "interval", seconds: o.seconds };
    if (o.kind === "rrule" && typeof o.rule === "string") return { kind: "rrule", rule: o.rule };
  }
  throw new ScheduleError(`invalid schedule ${JSON.stringify(value)} at ${where} (expected cron:…, every:…, rrule:… or a schedule object)`);
}
