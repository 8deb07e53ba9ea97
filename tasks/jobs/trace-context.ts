// A job's trace, from its submission to whatever runs it: the optimiser keeps its trace context
// with each job it queues, and the dummy executor's monitor submits that job's executor in it.
import { activeTraceContext, type JobDB, type TraceCarrier } from "diracx-tasks";

/** The OptimizerParameters names of the trace a job was optimised in (W3C trace context). */
export const TRACE_PARAMETERS = { traceparent: "TraceParent", tracestate: "TraceState" } as const;

/**
 * With tracing on, keeps the optimisation's trace context with each queued job (as DIRAC's
 * optimisers keep what they learn: OptimizerParameters), so whatever later runs the job (the
 * dummy executor) joins the trace of its submission. Nothing is written with tracing off.
 */
export async function keepTraceContext(jobIds: readonly number[], jobDB: Pick<JobDB, "setJobParameters">): Promise<void> {
  const carrier = activeTraceContext();
  if (!carrier || jobIds.length === 0) return;
  const params: Record<string, string> = { [TRACE_PARAMETERS.traceparent]: carrier.traceparent, ...(carrier.tracestate ? { [TRACE_PARAMETERS.tracestate]: carrier.tracestate } : {}) };
  await jobDB.setJobParameters(Object.fromEntries(jobIds.map((id) => [id, params])), "OptimizerParameters");
}

/** The trace context `keepTraceContext` kept for a job, from its OptimizerParameters. */
export function traceContextOf(params: Readonly<Record<string, string>> | undefined): TraceCarrier | undefined {
  const traceparent = params?.[TRACE_PARAMETERS.traceparent];
  if (!traceparent) return undefined;
  const tracestate = params[TRACE_PARAMETERS.tracestate];
  return { traceparent, ...(tracestate ? { tracestate } : {}) };
}
