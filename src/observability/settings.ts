import { z } from "zod";
import { defineSettings } from "../settings.ts";

/** `DIRACX_TASKS_HEALTH_PORT`: the health and metrics listener of a long-running process (off when unset). */
export class HealthSettings extends defineSettings(
  "DIRACX_TASKS_HEALTH_",
  z.object({
    port: z.number().int().min(0).max(65_535).optional(),
    /** Interface the listener binds; all by default, as an orchestrator probes from outside the container. */
    host: z.string().min(1, "must not be empty").default("0.0.0.0"),
  }),
) {}

/**
 * OpenTelemetry tracing, named as DiracX's routers name it (`DIRACX_OTEL_*`), so one
 * deployment's settings serve both. Off unless `DIRACX_OTEL_ENABLED=true`.
 */
export class OtelSettings extends defineSettings(
  "DIRACX_OTEL_",
  z.object({
    enabled: z.boolean().default(false),
    applicationName: z.string().min(1, "must not be empty").default("diracx-tasks"),
    /** OTLP gRPC collector, e.g. `http://otel-collector:4317`; unset uses the exporter's default (localhost:4317). */
    grpcEndpoint: z.string().min(1, "must not be empty").optional(),
    grpcInsecure: z.boolean().default(true),
    /** JSON object of headers sent with every export (e.g. an API key). */
    headers: z.record(z.string(), z.string()).default({}),
  }),
) {}
