// The types shared by tracing.ts (no OpenTelemetry) and otel.ts (the SDK side), so neither imports the other.
import type { OpenUnitOfWork } from "../engine/ports.ts";
import type { OtelSettings } from "./settings.ts";

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
  /** Runs `fn` with `carrier`'s context active (what is submitted inside joins that trace). */
  withContext<T>(carrier: TraceCarrier | undefined, fn: () => T): T;
  startAttempt(info: AttemptSpanInfo): AttemptSpan;
  traceUnitOfWork(open: OpenUnitOfWork): OpenUnitOfWork;
  logFields(): Record<string, string> | undefined;
  shutdown(): Promise<void>;
}


/** A span exporter (OTel's `SpanExporter`, typed loosely so this module needs no OTel import). */
export type SpanExporterLike = object;

export interface EnableTracingOptions {
  applicationName?: string;
  /** Spans go here instead of the OTLP exporter (tests, benchmarks: an InMemorySpanExporter). */
  exporter?: SpanExporterLike;
  /**
   * How a given exporter receives spans: "simple" (default for a given exporter: each span as it
   * ends, so a test sees it at once) or "batch" (buffered, as the OTLP exporter always is; a
   * benchmark measures what production pays).
   */
  processor?: "simple" | "batch";
  /** OTLP settings when no exporter is given. */
  settings?: InstanceType<typeof OtelSettings>;
}
