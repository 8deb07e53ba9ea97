import { Cron } from "croner";
import rrule from "rrule";
import { z } from "zod";
import { closestNames } from "../did-you-mean.ts";
import { formatKeyPath } from "./errors.ts";

/*
 * The tasks configuration: operator overrides of what task classes declare in code. It is the
 * `Tasks` section of the DiracX configuration document, or — because DiracX's Python services
 * refuse unknown top-level keys in a document they share — a separate file named by
 * `DIRACX_TASKS_CONFIG` with the same content at its top level (see TasksConfigSource). Either
 * way it is validated at start and hot-reloaded, and consumers see changes through
 * `TasksConfigSource.onChange`.
 *
 *   Tasks:
 *     common:                       # every VO
 *       "<category>:<TaskClass>": { enabled, schedule, retry, limits, variants }
 *     vo-overrides:
 *       <vo>:
 *         "<category>:<TaskClass>": { ... }
 *
 * Resolution for a task and VO: code defaults ← `common` ← `vo-overrides.<vo>`. A VO entry
 * overrides field by field (deep for `retry` and `limits`), except that `schedule` and a
 * variant's `args` are replaced whole (a cron and an interval cannot be mixed). `null`
 * removes an inherited limit, per-object entry or variant.
 *
 * Every object is strict: an unknown key (a typo such as `vo_overrides` or `concurency`) is
 * refused with its path. Upstream accepted and silently dropped such keys and never applied
 * the configuration at all.
 */

const { rrulestr } = rrule;

/** Window of a rate limit whose window is not configured. */
export const DEFAULT_RATE_WINDOW_SECONDS = 60;

const TASK_ID = /^[^:\s]+:[A-Za-z_$][\w$]*$/;
const NAME = /^[\w.-]+$/;

export type ScheduleSpec =
  | { kind: "cron"; expression: string; timezone?: string }
  | { kind: "interval"; seconds: number }
  | { kind: "rrule"; rule: string };

/**
 * `schedule:` — exactly one of `cron` (5 or 6 fields, seconds first when 6; optional
 * `timezone`, an IANA name), `interval` (seconds) or `rrule` (RFC 5545). A bare string is a cron.
 */
export const ScheduleSchema = z.preprocess(
  (v) => (typeof v === "string" ? { cron: v } : v),
  z
    .strictObject({
      cron: z.string().optional(),
      timezone: z.string().optional(),
      interval: z.number().positive().optional(),
      rrule: z.string().optional(),
    })
    .superRefine((s, ctx) => {
      const kinds = (["cron", "interval", "rrule"] as const).filter((k) => s[k] !== undefined);
      if (kinds.length !== 1) {
        ctx.addIssue({
          code: "custom",
          message: kinds.length ? `give only one of ${kinds.join(", ")}` : "expected one of cron, interval, rrule",
        });
        return;
      }
      if (s.timezone !== undefined && s.cron === undefined) {
        ctx.addIssue({ code: "custom", path: ["timezone"], message: "only allowed with cron" });
      }
      if (s.timezone !== undefined && !isTimeZone(s.timezone)) {
        ctx.addIssue({ code: "custom", path: ["timezone"], message: `unknown time zone '${s.timezone}'` });
      }
      if (s.cron !== undefined) {
        try {
          new Cron(s.cron, { paused: true });
        } catch (err) {
          ctx.addIssue({ code: "custom", path: ["cron"], message: `invalid cron '${s.cron}': ${(err as Error).message}` });
        }
      }
      if (s.rrule !== undefined) {
        try {
          rrulestr(s.rrule);
        } catch (err) {
          ctx.addIssue({ code: "custom", path: ["rrule"], message: `invalid rrule '${s.rrule}': ${(err as Error).message}` });
        }
      }
    })
    .transform((s): ScheduleSpec => {
      if (s.cron !== undefined) return s.timezone ? { kind: "cron", expression: s.cron, timezone: s.timezone } : { kind: "cron", expression: s.cron };
      if (s.interval !== undefined) return { kind: "interval", seconds: s.interval };
      return { kind: "rrule", rule: s.rrule as string };
    }),
);

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const RateSchema = z.strictObject({
  limit: z.number().int().positive().optional(),
  windowSeconds: z.number().positive().optional(),
});
const ConcurrencySchema = z.strictObject({ limit: z.number().int().positive().optional() });

const LimitsSchema = z.strictObject({
  rate: RateSchema.nullable().optional(),
  concurrency: ConcurrencySchema.nullable().optional(),
});

const TaskLimitsSchema = LimitsSchema.extend({
  /** `<lock object type>` → `default` / `<object name>` → limits on that locked object. */
  perObject: z
    .record(z.string().regex(NAME, "expected a lock object type name"), z.record(z.string().min(1), LimitsSchema.nullable()))
    .optional(),
});

const RetrySchema = z.strictObject({
  maxRetries: z.number().int().nonnegative().optional(),
  baseDelaySeconds: z.number().nonnegative().optional(),
});

const VariantSchema = z.strictObject({
  enabled: z.boolean().optional(),
  args: z.record(z.string(), z.unknown()).optional(),
  schedule: ScheduleSchema.optional(),
});

export const TaskOverrideSchema = z.strictObject({
  enabled: z.boolean().optional(),
  schedule: ScheduleSchema.optional(),
  retry: RetrySchema.optional(),
  limits: TaskLimitsSchema.optional(),
  /** Named variants: each enabled one becomes its own schedule with its own args. */
  variants: z.record(z.string().regex(NAME, "variant names use letters, digits, '_', '-', '.'"), VariantSchema.nullable()).optional(),
});

const TaskTableSchema = z.record(
  z.string().regex(TASK_ID, "expected a task id '<category>:<TaskClass>'"),
  TaskOverrideSchema,
);

export const TasksConfigSchema = z.strictObject({
  common: TaskTableSchema.default({}),
  "vo-overrides": z.record(z.string().min(1), TaskTableSchema).default({}),
});

export type TasksConfig = z.output<typeof TasksConfigSchema>;
export type TaskOverride = z.output<typeof TaskOverrideSchema>;

export interface RateLimit {
  limit: number;
  windowSeconds: number;
}
export interface ConcurrencyLimit {
  limit: number;
}
/** Limits in force; an absent limiter is disabled. */
export interface Limits {
  rate?: RateLimit;
  concurrency?: ConcurrencyLimit;
}
export interface RetryOverride {
  maxRetries?: number;
  baseDelaySeconds?: number;
}

/** What a task class declares in code, the bottom layer of the resolution. */
export interface TaskDefaults {
  enabled?: boolean;
  schedule?: ScheduleSpec;
  retry?: RetryOverride;
  limits?: Limits;
  /** Args of the default (unnamed) schedule. */
  args?: Record<string, unknown>;
}

/** One schedule the scheduler should keep for this task (and VO). */
export interface ResolvedSchedule {
  /** `undefined` for the task's own schedule, else the variant's name. */
  variant: string | undefined;
  args: Record<string, unknown>;
  schedule: ScheduleSpec;
}

export interface ResolvedTaskSettings {
  taskId: string;
  vo: string | undefined;
  enabled: boolean;
  schedule: ScheduleSpec | undefined;
  retry: RetryOverride;
  limits: Limits;
  /** Per lock object type: its `default` limits and each named object's limits (default merged in). */
  perObject: Record<string, { default: Limits | undefined; objects: Record<string, Limits> }>;
  /**
   * The schedules to create: none when the task is disabled or has no schedule; the enabled
   * variants when any are configured (they replace the default run — add a variant with
   * empty args to keep it); otherwise the task's own schedule with the default args.
   */
  schedules: ResolvedSchedule[];
}

type PartialLimits = { rate?: Partial<RateLimit>; concurrency?: Partial<ConcurrencyLimit> };
type LimitsInput = z.output<typeof LimitsSchema> | null | undefined;
type VariantInput = z.output<typeof VariantSchema>;

function overlayLimits(base: PartialLimits, over: LimitsInput): PartialLimits {
  if (!over) return base;
  const out: PartialLimits = { ...base };
  if (over.rate === null) delete out.rate;
  else if (over.rate) out.rate = { ...out.rate, ...definedOnly(over.rate) };
  if (over.concurrency === null) delete out.concurrency;
  else if (over.concurrency) out.concurrency = { ...out.concurrency, ...definedOnly(over.concurrency) };
  return out;
}

function finishLimits(p: PartialLimits): Limits {
  const out: Limits = {};
  if (p.rate?.limit !== undefined) out.rate = { limit: p.rate.limit, windowSeconds: p.rate.windowSeconds ?? DEFAULT_RATE_WINDOW_SECONDS };
  if (p.concurrency?.limit !== undefined) out.concurrency = { limit: p.concurrency.limit };
  return out;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The effective settings of one task (for one VO, if given): `defaults` (the task class)
 * ← `Tasks.common[taskId]` ← `Tasks.vo-overrides[vo][taskId]`.
 */
export function resolveTaskSettings(
  tasksConfig: TasksConfig | undefined,
  taskId: string,
  vo?: string,
  defaults: TaskDefaults = {},
): ResolvedTaskSettings {
  const layers = [tasksConfig?.common[taskId], vo === undefined ? undefined : tasksConfig?.["vo-overrides"][vo]?.[taskId]].filter(
    (l): l is TaskOverride => l !== undefined,
  );

  let enabled = defaults.enabled ?? true;
  let schedule = defaults.schedule;
  let retry: RetryOverride = { ...defaults.retry };
  let limits: PartialLimits = { ...defaults.limits };
  const perObject: Record<string, { default: PartialLimits | undefined; objects: Record<string, PartialLimits> }> = {};
  const variants = new Map<string, VariantInput>();

  for (const layer of layers) {
    if (layer.enabled !== undefined) enabled = layer.enabled;
    if (layer.schedule !== undefined) schedule = layer.schedule;
    if (layer.retry) retry = { ...retry, ...definedOnly(layer.retry) };
    limits = overlayLimits(limits, layer.limits);
    for (const [type, table] of Object.entries(layer.limits?.perObject ?? {})) {
      const entry = (perObject[type] ??= { default: undefined, objects: {} });
      for (const [name, objLimits] of Object.entries(table)) {
        if (name === "default") entry.default = objLimits === null ? undefined : overlayLimits(entry.default ?? {}, objLimits);
        else if (objLimits === null) delete entry.objects[name];
        else entry.objects[name] = overlayLimits(entry.objects[name] ?? {}, objLimits);
      }
    }
    for (const [name, variant] of Object.entries(layer.variants ?? {})) {
      if (variant === null) variants.delete(name);
      else variants.set(name, { ...variants.get(name), ...definedOnly(variant) });
    }
  }

  const schedules: ResolvedSchedule[] = [];
  if (enabled) {
    if (variants.size > 0) {
      for (const [name, v] of variants) {
        const s = v.schedule ?? schedule;
        if (v.enabled !== false && s) schedules.push({ variant: name, args: { ...(v.args ?? {}) }, schedule: s });
      }
    } else if (schedule) {
      schedules.push({ variant: undefined, args: { ...(defaults.args ?? {}) }, schedule });
    }
  }

  return {
    taskId,
    vo,
    enabled,
    schedule,
    retry,
    limits: finishLimits(limits),
    perObject: Object.fromEntries(
      Object.entries(perObject).map(([type, e]) => [
        type,
        {
          default: e.default ? finishLimits(e.default) : undefined,
          // The object's own entry is more specific than the type's default whatever layer each came from.
          objects: Object.fromEntries(Object.entries(e.objects).map(([n, l]) => [n, finishLimits(overlayLimits(e.default ?? {}, l))])),
        },
      ]),
    ),
    schedules,
  };
}

/**
 * Limits on one locked object (e.g. type `storage_element`, name `CERN-DST-EOS`): the type's
 * `default` with the object's own entry over it. `{}` when nothing is configured.
 */
export function resolveObjectLimit(resolved: ResolvedTaskSettings, objectType: string, objectName: string): Limits {
  const entry = resolved.perObject[objectType];
  if (!entry) return {};
  return entry.objects[objectName] ?? entry.default ?? {};
}

/**
 * Problems the schema cannot see because they need the registry and the VO list: unknown task
 * ids (a typo would silently configure nothing), unknown VOs, unknown lock object types, and
 * schedules or variants on tasks that are not periodic. Each line starts with its key path.
 * Callers decide whether to refuse (at start) or warn (on reload).
 */
export function checkTasksConfig(
  tasksConfig: TasksConfig | undefined,
  known: {
    taskIds?: readonly string[];
    periodicTaskIds?: readonly string[];
    /** Tasks a VO override can apply to (VO-aware periodic tasks, tasks with a `vo` argument). */
    voTaskIds?: readonly string[];
    vos?: readonly string[];
    lockObjectTypes?: readonly string[];
  },
): string[] {
  if (!tasksConfig) return [];
  const problems: string[] = [];
  const tables: Array<[PropertyKey[], Record<string, TaskOverride>, string | undefined]> = [[["Tasks", "common"], tasksConfig.common, undefined]];
  for (const [vo, table] of Object.entries(tasksConfig["vo-overrides"])) tables.push([["Tasks", "vo-overrides", vo], table, vo]);
  for (const [base, table, vo] of tables) {
    if (vo !== undefined && known.vos && !known.vos.includes(vo)) {
      problems.push(`${formatKeyPath(base)}: unknown VO (Registry has: ${known.vos.join(", ") || "none"})`);
    }
    for (const [taskId, override] of Object.entries(table)) {
      const path = [...base, taskId];
      if (known.taskIds && !known.taskIds.includes(taskId)) {
        problems.push(`${formatKeyPath(path)}: unknown task${suggest(taskId, known.taskIds)}`);
        continue;
      }
      if (vo !== undefined && known.voTaskIds && !known.voTaskIds.includes(taskId)) {
        problems.push(`${formatKeyPath(path)}: '${taskId}' is not VO-aware (neither a PeriodicVoAwareTask nor a task with a 'vo' argument), so a VO override never applies; move it to Tasks.common`);
      }
      if (known.periodicTaskIds && !known.periodicTaskIds.includes(taskId)) {
        for (const key of ["schedule", "variants"] as const) {
          if (override[key] !== undefined) problems.push(`${formatKeyPath([...path, key])}: '${taskId}' is not a periodic task`);
        }
      }
      if (known.lockObjectTypes) {
        for (const type of Object.keys(override.limits?.perObject ?? {})) {
          if (!known.lockObjectTypes.includes(type)) {
            problems.push(
              `${formatKeyPath([...path, "limits", "perObject", type])}: unknown lock object type (known: ${known.lockObjectTypes.join(", ")})`,
            );
          }
        }
      }
    }
  }
  return problems;
}

function suggest(name: string, candidates: readonly string[]): string {
  const close = closestNames(name, [...candidates]);
  return close.length ? ` (did you mean ${close.map((c) => `'${c}'`).join(", ")}?)` : "";
}
