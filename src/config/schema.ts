import { z } from "zod";
import { TasksConfigSchema } from "./tasks-config.ts";

/*
 * The DiracX configuration document (what DIRACX_CONFIG_BACKEND_URL points at), with
 * DiracX's own PascalCase key names so the same YAML serves the Python services.
 *
 * Strictness: the document is shared with every DiracX service and is converted from the
 * legacy DIRAC CS, so it carries many sections and fields this system never reads. Those
 * pass through untouched (objects are `loose`) rather than being refused: refusing them
 * would make a config that DiracX accepts stop the task system. The fields we do read are
 * typed and validated, and the `Tasks` section, which only this system reads, is strict so
 * that typos are refused with their path. (DiracX's own schema forbids unknown top-level keys,
 * so a document also read by the Python services cannot carry `Tasks`: such installations use
 * the separate DIRACX_TASKS_CONFIG file.)
 */

/** `Registry.<vo>.Users.<sub>` */
export const UserConfigSchema = z.looseObject({
  PreferedUsername: z.string(),
  DNs: z.array(z.string()).default([]),
  Email: z.string().optional(),
  Suspended: z.array(z.string()).default([]),
  Quota: z.number().int().optional(),
});

/** `Registry.<vo>.Groups.<group>` */
export const GroupConfigSchema = z.looseObject({
  Properties: z.array(z.string()).default([]),
  Users: z.array(z.string()).default([]),
  /** Share of the VO's resources used by the task-queue priority logic. */
  JobShare: z.number().int().nonnegative().default(1000),
  /** Whether jobs of this group may go to background task queues. */
  AllowBackgroundTQs: z.boolean().default(false),
  AutoAddVOMS: z.boolean().default(false),
  AutoUploadProxy: z.boolean().default(false),
  AutoUploadPilotProxy: z.boolean().default(false),
  AutoSyncVOMS: z.boolean().default(false),
  VOMSRole: z.string().optional(),
  Quota: z.number().int().optional(),
});

/** `Registry.<vo>`: one VO's identity provider, users and groups. */
export const VORegistrySchema = z.looseObject({
  IdP: z.looseObject({ URL: z.string(), ClientID: z.string() }).optional(),
  Support: z.looseObject({}).optional(),
  DefaultGroup: z.string().optional(),
  DefaultStorageQuota: z.number().nonnegative().default(0),
  DefaultProxyLifeTime: z.number().int().positive().default(12 * 60 * 60),
  VOMSName: z.string().optional(),
  Users: z.record(z.string(), UserConfigSchema).default({}),
  Groups: z.record(z.string(), GroupConfigSchema).default({}),
});

export const JobSchedulingConfigSchema = z.looseObject({
  EnableSharesCorrection: z.boolean().default(false),
  /** How many times a job may be rescheduled before it is failed. */
  MaxRescheduling: z.number().int().nonnegative().default(3),
});

export const ServicesConfigSchema = z.looseObject({
  JobScheduling: JobSchedulingConfigSchema.default(() => JobSchedulingConfigSchema.parse({})),
});

export const JobDescriptionConfigSchema = z.looseObject({
  DefaultCPUTime: z.number().int().positive().default(86400),
  DefaultPriority: z.number().int().default(1),
  MinCPUTime: z.number().int().nonnegative().default(100),
  MaxCPUTime: z.number().int().positive().default(500000),
  AllowedJobTypes: z.array(z.string()).default(["User", "Test", "Hospital"]),
  MaxInputData: z.number().int().positive().default(100),
});

/** `Operations.<vo>` and `Operations.Defaults`. */
export const OperationsConfigSchema = z.looseObject({
  EnableSecurityLogging: z.boolean().default(false),
  Services: ServicesConfigSchema.default(() => ServicesConfigSchema.parse({})),
  JobDescription: JobDescriptionConfigSchema.default(() => JobDescriptionConfigSchema.parse({})),
});

/**
 * Platform → compatible OS list. DIRAC's CS stores the list as a `"a, b"` string; DiracX
 * converts it to a list. Both are accepted so a half-converted document still loads.
 */
export const OSCompatibilitySchema = z.record(
  z.string(),
  z.preprocess(
    (v) =>
      typeof v === "string"
        ? v
            .split(",")
            .map((x) => x.trim())
            .filter(Boolean)
        : v,
    z.array(z.string()),
  ),
);

export const ResourcesConfigSchema = z.looseObject({
  Computing: z
    .looseObject({ OSCompatibility: OSCompatibilitySchema.default({}) })
    .default(() => ({ OSCompatibility: {} })),
});

/**
 * The `Operations` section for a per-VO schema: `Defaults` merged under each VO section (a VO
 * inherits what it does not set) and always present, so `operationsFor` finds a parsed section
 * (with the schema's defaults) for every VO. An extension adding per-VO operations fields builds
 * its `Operations` with this from `OperationsConfigSchema.extend({...})`; a plain
 * `z.record(...)` would drop the inheritance from `Defaults`.
 */
export function operationsSection<S extends z.ZodType>(perVo: S) {
  return z.preprocess(withDefaultsUnderEachVO, z.record(z.string(), perVo));
}

/** The whole document. `Registry` keys are the VOs this installation serves. */
export const ConfigSchema = z.looseObject({
  Registry: z.record(z.string(), VORegistrySchema),
  Operations: operationsSection(OperationsConfigSchema),
  Resources: ResourcesConfigSchema.default(() => ResourcesConfigSchema.parse({})),
  /** The tasks configuration (see tasks-config.ts); only this system reads it. */
  Tasks: TasksConfigSchema.optional(),
});

export type DiracxConfig = z.output<typeof ConfigSchema>;
export type VORegistry = z.output<typeof VORegistrySchema>;
export type GroupConfig = z.output<typeof GroupConfigSchema>;
export type UserConfig = z.output<typeof UserConfigSchema>;
export type OperationsConfig = z.output<typeof OperationsConfigSchema>;

/**
 * A schema for a configuration document: core's, an extension's that extends it (the active
 * `diracx` → `config` entry point), or the separate tasks configuration file's.
 */
export type ConfigSchemaType<C = DiracxConfig> = z.ZodType<C, unknown>;

/** The VOs this installation serves, in document order. */
export function listVOs(config: DiracxConfig): string[] {
  return Object.keys(config.Registry);
}

/**
 * The operations settings for a VO. DIRAC looks an Operations key up in the VO's section and
 * falls back to `Defaults`; that merge is done once at load (see `withDefaultsUnderEachVO`),
 * so this is a plain lookup.
 */
export function operationsFor<O = OperationsConfig>(config: { Operations: Record<string, O> }, vo: string): O {
  // A parsed document always has Defaults (operationsSection); the last fallback is for hand-built ones.
  return config.Operations[vo] ?? config.Operations.Defaults ?? (OperationsConfigSchema.parse({}) as O);
}

/*
 * Merged on the raw document, before code defaults are filled in: merging parsed sections
 * would let a VO's code default (say MaxRescheduling 3) hide a value set in Defaults.
 */
function withDefaultsUnderEachVO(raw: unknown): unknown {
  if (raw === undefined) return { Defaults: {} };
  if (isPlainObject(raw) && raw.Defaults === undefined) return { ...raw, Defaults: {} };
  if (!isPlainObject(raw) || !isPlainObject(raw.Defaults)) return raw;
  const out: Record<string, unknown> = {};
  for (const [vo, section] of Object.entries(raw)) out[vo] = vo === "Defaults" ? section : mergeDeep(raw.Defaults, section);
  return out;
}

function mergeDeep(base: unknown, over: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = k in base ? mergeDeep(base[k], v) : v;
    return out;
  }
  return over;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
