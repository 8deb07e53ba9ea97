import { Counter, Histogram, Registry } from "prom-client";

/** Prometheus registry of the engine's metrics, served later at `/metrics`. */
export const metricsRegistry = new Registry();

const labelNames = ["task", "size", "priority"] as const;

export const metrics = {
  completed: new Counter({ name: "diracx_tasks_completed_total", help: "Task attempts that succeeded", labelNames, registers: [metricsRegistry] }),
  failed: new Counter({ name: "diracx_tasks_failed_total", help: "Tasks that failed for good (no retry left)", labelNames, registers: [metricsRegistry] }),
  retried: new Counter({ name: "diracx_tasks_retried_total", help: "Failed attempts that will be retried", labelNames, registers: [metricsRegistry] }),
  deferred: new Counter({
    name: "diracx_tasks_deferred_total",
    help: "Attempts put back because a lock or limiter was busy (not counted as attempts)",
    labelNames,
    registers: [metricsRegistry],
  }),
  requeued: new Counter({ name: "diracx_tasks_requeued_total", help: "Attempts aborted by worker shutdown and put back", labelNames, registers: [metricsRegistry] }),
  duration: new Histogram({
    name: "diracx_tasks_duration_seconds",
    help: "Duration of task attempts (execution, commit and lock release)",
    labelNames: [...labelNames, "outcome"],
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600, 3600],
    registers: [metricsRegistry],
  }),
};
