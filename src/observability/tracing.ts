/**
 * The engine's side of tracing, free of OpenTelemetry imports: every hook is a no-op
 * until `enableTracing` loads `./otel.ts` (a dynamic import), so a process with tracing
 * off neither loads the SDK nor pays for it on the hot path.
 */
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

/** Producer hook: stores the active trace context in a task's meta (nothing when tracing is off or no span is active). */
export function injectTraceContext(meta: { trace?: TraceCarrier }): void {
  if (!hooks) return;
  const carrier = hooks.inject();
  if (carrier) meta.trace = carrier;
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
  const h = hooks;
  hooks = undefined;
  setLogFields(undefined);
  await h?.shutdown();
}

/**
 * For `serve`: turns tracing on (when `DIRACX_OTEL_ENABLED=true`) with HTTP server/client,
 * PostgreSQL and ioredis spans. Call it before fastify, pg and ioredis are first imported —
 * instrumentation patches modules as they load — and run the process with
 * `node --import @opentelemetry/instrumentation/hook.mjs` so ES-module imports are patched too.
 * Returns whether tracing is on.
 */
export async function setupHttpTracing(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const hooks = await enableTracingFromEnv(env);
  if (!hooks) return false;
  const [{ registerInstrumentations }, { HttpInstrumentation }, { PgInstrumentation }, { IORedisInstrumentation }] = await Promise.all([
    import("@opentelemetry/instrumentation"),
    import("@opentelemetry/instrumentation-http"),
    import("@opentelemetry/instrumentation-pg"),
    import("@opentelemetry/instrumentation-ioredis"),
  ]);
  registerInstrumentations({
    instrumentations: [
      // Probes and scrapes would drown the request spans.
      new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => /^\/(healthz|readyz|metrics)\b|^\/api\/health\//.test(req.url ?? "") }),
      new PgInstrumentation(),
      // BullMQ's own polling (BRPOPLPUSH/BZPOPMIN, scripts) would be most of the trace; only spans inside a request.
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  return true;
}
