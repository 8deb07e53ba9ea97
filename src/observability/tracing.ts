/**
 * The engine's side of tracing, free of OpenTelemetry imports: every hook is a no-op
 * until `enableTracing` loads `./otel.ts` (a dynamic import), so a process with tracing
 * off neither loads the SDK nor pays for it on the hot path.
 */
import type { OpenUnitOfWork } from "../engine/ports.ts";
import { OtelSettings } from "./settings.ts";

/** W3C trace context as a task carries it in `meta.trace` (any producer may write it). */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/** What the worker knows about an attempt when it starts its span. */
export interface AttemptSpanInfo {
  taskId: string;
  taskName: string;
  size: string;
  priority: string;
  attempt: number;
  vo?: string | undefined;
  /** The creation context the producer stored (parent and link). */
  trace?: TraceCarrier | undefined;
  /** The trace of the failed task this one resubmits (a dead letter): linked, not parented. */
  origin?: string | undefined;
}

export interface AttemptSpan {
  /** Runs `fn` with this span active, so children submitted and transactions opened hang off it. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  event(name: string, attributes?: Record<string, string | number | boolean>): void;
  end(status: "completed" | "retried" | "failed" | "deferred" | "requeued", error?: unknown): void;
}

export interface TracingHooks {
  inject(): TraceCarrier | undefined;
  startAttempt(info: AttemptSpanInfo): AttemptSpan;
  traceUnitOfWork(open: OpenUnitOfWork): OpenUnitOfWork;
  logFields(): Record<string, string> | undefined;
  shutdown(): Promise<void>;
}

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

/** A span exporter (OTel's `SpanExporter`, typed loosely so this module needs no OTel import). */
export type SpanExporterLike = object;

export interface EnableTracingOptions {
  applicationName?: string;
  /** Spans go here instead of the OTLP exporter (tests, benchmarks: an InMemorySpanExporter). */
  exporter?: SpanExporterLike;
  /** OTLP settings when no exporter is given. */
  settings?: InstanceType<typeof OtelSettings>;
}

/** Loads the SDK and turns tracing on for this process; idempotent. */
export async function enableTracing(opts: EnableTracingOptions = {}): Promise<TracingHooks> {
  if (hooks) return hooks;
  const { createTracing } = await import("./otel.ts");
  hooks = await createTracing(opts);
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
