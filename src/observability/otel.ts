/**
 * The OpenTelemetry side of tracing, loaded only when tracing is enabled (see tracing.ts).
 * Spans follow the messaging semantic conventions (a consumer span `process tasks-<size>`
 * per attempt, linked to the creation context the producer stored in the task's data) and
 * carry the attribute names of upstream DiracX's task spans as well.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Link, type Span } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider, type SpanExporter } from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { OpenUnitOfWork } from "../engine/ports.ts";
import type { AttemptSpan, AttemptSpanInfo, EnableTracingOptions, TraceCarrier, TracingHooks } from "./tracing-types.ts";

const TRACER = "diracx-tasks";
const propagator = new W3CTraceContextPropagator();

function contextOf(carrier: TraceCarrier | { traceparent?: string } | undefined): Context | undefined {
  if (!carrier?.traceparent) return undefined;
  const ctx = propagator.extract(context.active(), carrier, { get: (c, k) => (c as Record<string, string | undefined>)[k], keys: (c) => Object.keys(c) });
  return trace.getSpanContext(ctx) ? ctx : undefined;
}

async function grpcExporter(opts: EnableTracingOptions): Promise<SpanExporter> {
  const [{ OTLPTraceExporter }, grpc] = await Promise.all([import("@opentelemetry/exporter-trace-otlp-grpc"), import("@grpc/grpc-js")]);
  const s = opts.settings;
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(s?.headers ?? {})) metadata.set(k, v);
  return new OTLPTraceExporter({
    ...(s?.grpcEndpoint ? { url: s.grpcEndpoint } : {}),
    credentials: s?.grpcInsecure === false ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(),
    metadata,
  });
}

export async function createTracing(opts: EnableTracingOptions): Promise<TracingHooks> {
  // A test exporter sees every span at once (unless batching is asked for); the network exporter batches.
  const given = opts.exporter as SpanExporter | undefined;
  const processors =
    given && opts.processor !== "batch" ? [new SimpleSpanProcessor({ exporter: given })] : [new BatchSpanProcessor({ exporter: given ?? (await grpcExporter(opts)) })];
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.applicationName ?? opts.settings?.applicationName ?? "diracx-tasks" }),
    spanProcessors: processors,
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(propagator);
  trace.setGlobalTracerProvider(provider);
  const tracer = provider.getTracer(TRACER);

  return {
    inject() {
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      return carrier.traceparent ? { traceparent: carrier.traceparent, ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}) } : undefined;
    },

    withContext(carrier, fn) {
      const ctx = contextOf(carrier);
      return ctx ? context.with(ctx, fn) : fn();
    },

    startAttempt(info: AttemptSpanInfo): AttemptSpan {
      const created = contextOf(info.trace);
      const origin = contextOf(info.origin ? { traceparent: info.origin } : undefined);
      const links: Link[] = [];
      const createdSpan = created && trace.getSpanContext(created);
      if (createdSpan) links.push({ context: createdSpan, attributes: { "diracx.link": "creation" } });
      const originSpan = origin && trace.getSpanContext(origin);
      if (originSpan) links.push({ context: originSpan, attributes: { "diracx.link": "resubmitted-from" } });
      const queue = `tasks-${info.size}`;
      // The worker runs attempts outside any request, so without a creation context the span
      // starts from the root context: a fresh trace.
      const parent = created ?? ROOT_CONTEXT;
      // Parent is the creation context too, so a request, its task and the task's children form one trace.
      // A task with none (a periodic run) starts a fresh trace.
      const span: Span = tracer.startSpan(
        `process ${queue}`,
        {
          kind: SpanKind.CONSUMER,
          links,
          attributes: {
            "messaging.system": "bullmq",
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": queue,
            "messaging.consumer.group.name": queue,
            "messaging.message.id": info.taskId,
            ...(info.vo ? { "diracx.vo": info.vo } : {}),
            "task.name": info.taskName,
            "task.id": info.taskId,
            "task.retry_count": info.attempt - 1,
            "task.priority": info.priority,
            "task.size": info.size,
          },
        },
        parent,
      );
      const spanContext = trace.setSpan(parent, span);
      const started = performance.now();
      return {
        run: (fn) => context.with(spanContext, fn),
        event: (name, attributes) => span.addEvent(name, attributes),
        end(status, error) {
          span.setAttributes({ "task.status": status, "task.duration_ms": Math.round(performance.now() - started) });
          if (error !== undefined) {
            span.setAttribute("task.error", error instanceof Error ? error.message : String(error));
            if (error instanceof Error) span.recordException(error);
            if (status === "failed" || status === "retried") span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
          }
          span.end();
        },
      };
    },

    traceUnitOfWork(open: OpenUnitOfWork): OpenUnitOfWork {
      return async (spec) => {
        const names = Object.keys(spec);
        if (names.length === 0) return open(spec);
        const span = tracer.startSpan("db.transaction", { kind: SpanKind.CLIENT, attributes: { "diracx.dependencies": names.join(",") } });
        let uow;
        try {
          uow = await context.with(trace.setSpan(context.active(), span), () => open(spec));
        } catch (err) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          span.end();
          throw err;
        }
        const opened = uow;
        const finish = async (what: "commit" | "rollback", fn: () => Promise<void>): Promise<void> => {
          try {
            await fn();
            span.setAttribute("db.transaction.outcome", what);
          } catch (err) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
            throw err;
          } finally {
            span.end();
          }
        };
        return { deps: opened.deps, commit: () => finish("commit", () => opened.commit()), rollback: () => finish("rollback", () => opened.rollback()) };
      };
    },

    logFields() {
      const sc = trace.getSpanContext(context.active());
      return sc ? { trace_id: sc.traceId, span_id: sc.spanId } : undefined;
    },

    async shutdown() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
