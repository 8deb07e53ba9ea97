/**
 * The engine's side of tracing, free of OpenTelemetry imports: every hook is a no-op
 * until `enableTracing` loads `./otel.ts` (a dynamic import), so a process with tracing
 * off neither loads the SDK nor pays for it on the hot path.
 */
import { createRequire } from "node:module";
import type { OpenUnitOfWork } from "../engine/ports.ts";
import { OtelSettings } from "./settings.ts";
import { setLogFields } from "../logging.ts";

import type { AttemptSpan, AttemptSpanInfo, EnableTracingOptions, SpanExporterLike, TraceCarrier, TracingHooks } from "./tracing-types.ts";
export type { AttemptSpan, AttemptSpanInfo, EnableTracingOptions, SpanExporterLike, TraceCarrier, TracingHooks };

let hooks: TracingHooks | undefined;

/** The active hooks, or undefined when tracing is off (callers skip all tracing work then). */
export function tracing(): TracingHooks | undefined {
  return hooks;
}

/**
 * The trace context active here (inside a task's attempt: its span), for a task to keep with
 * what it hands on to work that another process picks up later; undefined when tracing is off.
 */
export function activeTraceContext(): TraceCarrier | undefined {
  return hooks?.inject();
}

/**
 * Runs `fn` inside the trace `carrier` names (one `activeTraceContext()` returned), so what `fn`
 * submits joins that trace; just runs `fn` when tracing is off or `carrier` is undefined.
 */
export function withTraceContext<T>(carrier: TraceCarrier | undefined, fn: () => T): T {
  return hooks && carrier ? hooks.withContext(carrier, fn) : fn();
}

/** `trace_id` / `span_id` for the log line being written (pino mixin). */
export function traceLogFields(): Record<string, string> {
  return hooks?.logFields() ?? {};
}

/** Loads the SDK and turns tracing on for this process; idempotent. */
export async function enableTracing(opts: EnableTracingOptions = {}): Promise<TracingHooks> {
  if (hooks) return hooks;
  const { createTracing } = await import("./otel.ts");
  hooks = await createTracing(opts);
  setLogFields(traceLogFields);
  return hooks;
}

/** Turns tracing on when `DIRACX_OTEL_ENABLED=true`; a bad setting stops the process with the variable's name. */
export async function enableTracingFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<TracingHooks | undefined> {
  const settings = OtelSettings.fromEnv(env);
  return settings.enabled ? enableTracing({ settings, applicationName: settings.applicationName }) : undefined;
}

/** Flushes and stops the exporter; tracing is off afterwards. */
export async function disableTracing(): Promise<void> {
  instrumentationsOff?.();
  instrumentationsOff = undefined;
  const h = hooks;
  hooks = undefined;
  setLogFields(undefined);
  await h?.shutdown();
}

let instrumentationsOff: (() => void) | undefined;

/**
 * For `serve`: turns tracing on (when `DIRACX_OTEL_ENABLED=true`, or with `exporter`, a test's
 * in-memory exporter) with HTTP server/client, PostgreSQL and ioredis spans. Instrumentation
 * patches the modules' prototypes, so clients made before this call are traced too; run the
 * process with `node --import @opentelemetry/instrumentation/hook.mjs` to have ES-module
 * imports of other libraries patched as well. Returns whether tracing is on.
 */
export async function setupHttpTracing(env: NodeJS.ProcessEnv = process.env, exporter?: SpanExporterLike): Promise<boolean> {
  const on = exporter ? await enableTracing({ exporter }) : await enableTracingFromEnv(env);
  if (!on) return false;
  if (instrumentationsOff) return true;
  const [{ registerInstrumentations }, { HttpInstrumentation }, { PgInstrumentation }, { IORedisInstrumentation }] = await Promise.all([
    import("@opentelemetry/instrumentation"),
    import("@opentelemetry/instrumentation-http"),
    import("@opentelemetry/instrumentation-pg"),
    import("@opentelemetry/instrumentation-ioredis"),
  ]);
  instrumentationsOff = registerInstrumentations({
    instrumentations: [
      // Probes and scrapes would drown the request spans.
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)\b|^\/api\/health\//.test(req.url ?? "") }),
      new PgInstrumentation(),
      // BullMQ's own polling (BRPOPLPUSH/BZPOPMIN, scripts) would be most of the trace; only spans inside a request.
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  // The hooks patch a module when it is next required: loaded already (as ESM imports of
  // them were), they are required once more here so that their prototypes are patched now.
  const require = createRequire(import.meta.url);
  for (const name of ["node:http", "node:https", "pg", "ioredis"]) {
    try {
      require(name);
    } catch {
      // not installed (pg is optional for a deployment on PGlite): nothing to trace
    }
  }
  return true;
}
