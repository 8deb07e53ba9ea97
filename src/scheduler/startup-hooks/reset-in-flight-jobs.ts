import type { BrokerStartupContext } from "../broker-lifecycle.ts";

/**
 * Core's `diracx.broker_startup` hook `reset_in_flight_jobs`: after a broker wipe, the jobs
 * whose processing was queued only in Redis are in an in-flight state in JobDB (e.g. Received
 * and never optimised) and must be put back where a task will pick them up again.
 *
 * TODO(domain): fill in with the job logic layer (set the in-flight statuses back and
 * re-submit the optimisation tasks). Until then it only says that it ran.
 */
export async function resetInFlightJobs(ctx: BrokerStartupContext): Promise<void> {
  ctx.logger.info({ epoch: ctx.epoch }, "reset_in_flight_jobs: nothing to reset yet (job logic not wired)");
}
