import { z } from "zod";
import { DiracxError } from "./errors.ts";

/** A settings environment variable is missing or malformed; the message names the variable. */
export class SettingsError extends DiracxError {
  /** Every problem is a required variable left unset (none is set to a bad value). */
  readonly unsetOnly: boolean;
  constructor(message: string, opts: { unsetOnly?: boolean } = {}) {
    super(message);
    this.unsetOnly = opts.unsetOnly ?? false;
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The token `defineSettings` returns: a class whose instances carry the validated values.
 * Dependency resolution (`openUnitOfWork`) recognises it by `settingsPrefix` + `fromEnv`.
 */
export interface SettingsClass<V extends object = Record<string, unknown>> {
  new (values: V): Readonly<V>;
  /** e.g. `DIRACX_SANDBOX_STORE_`; field `bucketName` reads `DIRACX_SANDBOX_STORE_BUCKET_NAME`. */
  readonly settingsPrefix: string;
  readonly settingsSchema: z.ZodObject;
  /** The environment variable each field is read from, in declaration order. */
  envVariables(): Record<keyof V & string, string>;
  /** Read, coerce and validate the fields from `env`; the instance is frozen. */
  fromEnv<T extends SettingsClass<V>>(this: T, env?: Env): InstanceType<T>;
}

/** Whether a value is a settings class token (used by dependency resolution). */
export function isSettingsClass(value: unknown): value is SettingsClass {
  return (
    typeof value === "function" &&
    typeof (value as Partial<SettingsClass>).settingsPrefix === "string" &&
    typeof (value as Partial<SettingsClass>).fromEnv === "function"
  );
}

/** `cleanBatchSize` → `CLEAN_BATCH_SIZE`, `s3EndpointURL` → `S3_ENDPOINT_URL`. */
export function envSuffix(field: string): string {
  return field
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toUpperCase();
}

/**
 * Define a settings class read from environment variables `<prefix><FIELD_IN_SNAKE_CASE>`.
 *
 *   export class SandboxStoreSettings extends defineSettings("DIRACX_SANDBOX_STORE_", z.object({
 *     bucketName: z.string(), cleanBatchSize: z.number().int().positive().default(500),
 *   })) {}
 *   const s = SandboxStoreSettings.fromEnv();   // s.cleanBatchSize: number
 *
 * Environment values are strings, so they are coerced by the field's schema type before
 * validation: numbers, booleans (`true/false/1/0/yes/no/on/off`), and JSON for objects/arrays.
 */
export function defineSettings<S extends z.ZodObject>(prefix: string, schema: S): SettingsClass<z.output<S>> {
  if (!/^[A-Z][A-Z0-9_]*_$/.test(prefix)) {
    throw new SettingsError(`settings prefix '${prefix}' must be upper case and end with '_' (e.g. DIRACX_SANDBOX_STORE_)`);
  }
  const fields = Object.keys(schema.shape);
  const envOf = (field: string): string => prefix + envSuffix(field);

  class Settings {
    static readonly settingsPrefix = prefix;
    static readonly settingsSchema = schema;

    constructor(values: z.output<S>) {
      Object.assign(this, values);
    }

    static envVariables(): Record<string, string> {
      return Object.fromEntries(fields.map((f) => [f, envOf(f)]));
    }

    static fromEnv(this: new (values: z.output<S>) => object, env: Env = process.env): object {
      const raw: Record<string, unknown> = {};
      const problems: string[] = [];
      let unset = 0;
      for (const field of fields) {
        const name = envOf(field);
        const value = env[name];
        if (value === undefined) continue;
        const coerced = coerce(value, schema.shape[field] as z.ZodType);
        if (coerced.ok) raw[field] = coerced.value;
        else problems.push(`${name}: ${coerced.problem}, got ${JSON.stringify(value)}`);
      }
      if (problems.length === 0) {
        const parsed = schema.safeParse(raw);
        if (parsed.success) return Object.freeze(new this(parsed.data));
        for (const issue of parsed.error.issues) {
          const [first, ...rest] = issue.path.map(String);
          const field = first ?? "";
          const name = fields.includes(field) ? envOf(field) : prefix + "*";
          // A JSON-valued variable names the key inside it that is wrong.
          const where = rest.length ? ` (at ${rest.join(".")})` : "";
          const missing = raw[field] === undefined && issue.code === "invalid_type";
          if (missing) unset++;
          problems.push(missing ? `${name} is required but not set` : `${name}${where}: ${issue.message.replace(/^Invalid input: /, "")}`);
        }
      }
      const owner = this.name && this.name !== "Settings" ? ` (${this.name})` : "";
      throw new SettingsError(`invalid settings${owner}: ${problems.join("; ")}`, { unsetOnly: unset === problems.length });
    }
  }
  return Settings as unknown as SettingsClass<z.output<S>>;
}

type Coerced = { ok: true; value: unknown } | { ok: false; problem: string };

/** The schema kind that decides how an environment string is read (wrappers peeled off). */
function baseKind(schema: z.ZodType): string {
  let s: z.ZodType = schema;
  for (let i = 0; i < 20; i++) {
    const def = s.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (def.innerType && ["optional", "nullable", "default", "prefault", "readonly", "catch", "nonoptional"].includes(def.type)) {
      s = def.innerType;
    } else if (def.type === "pipe" && def.in) {
      s = def.in;
    } else {
      return def.type;
    }
  }
  return "unknown";
}

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

function coerce(value: string, schema: z.ZodType): Coerced {
  const kind = baseKind(schema);
  const v = value.trim();
  switch (kind) {
    case "number":
    case "int":
    case "bigint": {
      const n = Number(v);
      if (v === "" || !Number.isFinite(n)) return { ok: false, problem: "expected a number" };
      return { ok: true, value: kind === "bigint" ? BigInt(v) : n };
    }
    case "boolean": {
      const lower = v.toLowerCase();
      if (TRUE.has(lower)) return { ok: true, value: true };
      if (FALSE.has(lower)) return { ok: true, value: false };
      return { ok: false, problem: "expected a boolean (true/false, 1/0, yes/no, on/off)" };
    }
    case "object":
    case "record":
    case "array":
    case "tuple": {
      try {
        return { ok: true, value: JSON.parse(v) };
      } catch {
        return { ok: false, problem: `expected a JSON ${kind === "record" ? "object" : kind}` };
      }
    }
    default:
      return { ok: true, value };
  }
}

/** Settings of the task system itself (`DIRACX_TASKS_*`). */
export class TasksSettings extends defineSettings(
  "DIRACX_TASKS_",
  z.object({
    /** The BullMQ broker. */
    redisUrl: z
      .string()
      .regex(/^rediss?(\+(cluster|sentinel))?:\/\//, "expected a redis://, rediss://, redis+cluster:// or redis+sentinel:// URL")
      .default("redis://localhost:6379"),
    /**
     * A separate tasks configuration file (top level `common` / `vo-overrides`), for
     * installations whose configuration document is shared with DiracX's Python services,
     * which refuse an unknown top-level `Tasks` section.
     */
    config: z.string().min(1, "must not be empty").optional(),
    /**
     * How long and how many finished jobs stay in Redis, per size queue (BullMQ removeOnComplete /
     * removeOnFail age and count; whichever bound is reached first). Completed tasks are only for
     * `show` and the dashboard: 1 h and 10,000 per queue bound Redis whatever the rate (README
     * "Retention"). Failed ones are also in TaskDB when dead-lettered.
     */
    keepCompletedSeconds: z.number().nonnegative().default(3600),
    keepCompletedCount: z.number().int().nonnegative().default(10_000),
    keepFailedSeconds: z.number().nonnegative().default(7 * 24 * 3600),
    keepFailedCount: z.number().int().nonnegative().default(20_000),
    /** How often the scheduler snapshots queue depths into TaskDB (what a broker wipe is measured against). */
    queueSnapshotSeconds: z.number().positive().default(30),
    /** Largest JSON-encoded task arguments accepted (producer, HTTP API, worker), in bytes. */
    maxPayloadBytes: z.number().int().positive().default(1024 * 1024),
    /** TTL of task locks; extended every third of it while the task runs. */
    lockTtlMs: z.number().positive().default(30_000),
    /** BullMQ job lock: renewed at half of it; a worker silent for longer is presumed dead. */
    jobLockMs: z.number().positive().default(30_000),
    /** How often a worker looks for jobs whose worker died (default: the job lock). */
    stalledIntervalMs: z.number().positive().optional(),
    /** Worker deaths a task survives before BullMQ fails it for good (then it is dead-lettered). */
    maxStalledCount: z.number().int().positive().default(10),
    /** First lock-contention deferral; doubles per deferral up to deferralMaxMs, jittered. */
    deferralBaseMs: z.number().positive().default(500),
    deferralMaxMs: z.number().positive().default(60_000),
    /** Bound on a short-lived command's broker connection (DIRACX_TASKS_CONNECT_TIMEOUT_SECONDS): then one line and exit 1. */
    connectTimeoutSeconds: z.number().positive().default(10),
  }),
) {}

/**
 * Where the DiracX configuration lives (`DIRACX_CONFIG_BACKEND_URL`: a YAML file, a
 * directory holding `default.yml`/`default.yaml`, or a `file://` URL to either) and how
 * often it is polled for changes when file-system events are not delivered.
 */
export class ConfigBackendSettings extends defineSettings(
  "DIRACX_CONFIG_",
  z.object({
    backendUrl: z.string().min(1, "must not be empty"),
    pollIntervalSeconds: z.number().positive().default(5),
  }),
) {}
