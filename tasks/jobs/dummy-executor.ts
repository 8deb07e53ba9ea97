// A stand-in for pilots and the matcher, so a development installation sees jobs finish:
// the monitor takes Waiting jobs out of their task queues, as a pilot's matcher would (the
// optimiser put them there), and one executor per job walks it Matched → Running → Done.
import { z } from "zod";
import {
  activeTraceContext,
  type ContextOf,
  definePeriodicTask,
  defineSettings,
  defineTask,
  depsOf,
  ExponentialBackoff,
  IntervalSchedule,
  JobMinorStatus,
  JobStatus,
  type Lock,
  MutexLock,
  removeJobsFromTaskQueue,
  type Schedule,
  setJobStatuses,
  unitsOfWork,
  withTraceContext,
} from "diracx-tasks";
import { JOB_STATUS_DEPS, SOURCES } from "./deps.ts";
import { traceContextOf } from "./trace-context.ts";

export class DummyJobExecutorSettings extends defineSettings(
  "DIRACX_TASKS_DUMMY_JOB_EXECUTOR_",
  z.object({
    enabled: z.boolean().default(false),
    intervalSeconds: z.number().int().positive().default(10),
  }),
) {}

/** Jobs moved per monitor run; the rest wait for the next run. */
export const MONITOR_BATCH = 1000;

/** Walks one matched job Running → Done, as a pilot running it would report. */
export class DummyJobExecutorTask extends defineTask({
  args: z.object({ jobId: z.number().int().positive() }),
  dependencies: JOB_STATUS_DEPS,
  priority: "normal",
  size: "large",
  retryPolicy: new ExponentialBackoff({ baseDelaySeconds: 10, maxRetries: 3 }),
  // Its loss leaves the job Matched/Running with nobody to finish it.
  dlqEligible: true,
}) {
  override locks(): Lock[] {
    return [new MutexLock("job", this.args.jobId)];
  }

  async execute(ctx: ContextOf<typeof DummyJobExecutorTask>): Promise<number | null> {
    const deps = depsOf(DummyJobExecutorTask, ctx);
    const { jobId } = this.args;
    const { rows } = await deps.jobDB.search({ parameters: ["Status"], search: [{ parameter: "JobID", operator: "eq", value: jobId }] });
    const status = rows[0]?.Status;
    // Idempotent: a re-run after the job finished (or was killed meanwhile) does nothing.
    if (status !== JobStatus.Matched && status !== JobStatus.Running) {
      ctx.logger.info({ jobId, status: status ?? "(no such job)" }, "dummy executor: job is not waiting to run; nothing to do");
      return null;
    }
    const t = Date.now();
    const step = (status: JobStatus, offsetMs: number) => ({
      time: new Date(t + offsetMs),
      status,
      minorStatus: JobMinorStatus.DummyExecutor,
      source: SOURCES.dummyExecutor,
    });
    const res = await setJobStatuses(
      { [jobId]: [step(JobStatus.Running, 0), step(JobStatus.Done, 4000)] },
      deps,
    );
    if (res.failed[jobId]) throw new Error(`dummy executor: job ${jobId}: ${res.failed[jobId].detail}`);
    return jobId;
  }
}

/**
 * Matches Waiting jobs from the task queues — marks them Matched and takes them out of their
 * queue — and spawns one executor per job. Off unless `DIRACX_TASKS_DUMMY_JOB_EXECUTOR_ENABLED`
 * is true; the switch and the interval are read when the scheduler asks (not when the module
 * is imported, as upstream did).
 */
export class DummyJobExecutorMonitorTask extends definePeriodicTask({
  // `settings` also tells `dev` which variables switch it on and set its interval.
  dependencies: { units: unitsOfWork(JOB_STATUS_DEPS), settings: DummyJobExecutorSettings },
  priority: "background",
  size: "small",
}) {
  async execute(ctx: ContextOf<typeof DummyJobExecutorMonitorTask>): Promise<number> {
    const { units } = depsOf(DummyJobExecutorMonitorTask, ctx);
    // Committed before the executors are spawned, so none of them can find its job still Waiting.
    let traces: Record<number, Record<string, string>> = {};
    const matched = await units.run(async (deps) => {
      const queued = await deps.taskQueueDB.queuedJobs(MONITOR_BATCH);
      const ids = queued.map((q) => q.JobId);
      if (ids.length === 0) return [];
      const { rows } = await deps.jobDB.search({ parameters: ["JobID"], search: [{ parameter: "JobID", operator: "in", values: ids }, { parameter: "Status", operator: "eq", value: JobStatus.Waiting }] });
      const waiting = rows.map((r) => r.JobID!);
      // Matching takes a job out of its task queue (and recalculates the shares of emptied queues).
      await removeJobsFromTaskQueue(ids, deps.config, deps.taskQueueDB);
      if (waiting.length === 0) return [];
      const now = new Date();
      const res = await setJobStatuses(
        Object.fromEntries(waiting.map((id) => [id, [{ time: now, status: JobStatus.Matched, minorStatus: JobMinorStatus.DummyExecutor, source: SOURCES.dummyExecutor }]])),
        deps,
      );
      const ok = waiting.filter((id) => res.success[id]?.Status === JobStatus.Matched);
      // tracing: each executor joins the trace its job was submitted and optimised in
      if (activeTraceContext()) traces = await deps.jobDB.getJobParameters(ok, "OptimizerParameters");
      return ok;
    });
    for (const jobId of matched) await withTraceContext(traceContextOf(traces[jobId]), () => ctx.schedule(new DummyJobExecutorTask({ jobId })));
    if (matched.length) ctx.logger.info({ jobs: matched.length }, "dummy executor: jobs matched and handed to executors");
    return matched.length;
  }
}

// Read at the time they are asked for: the scheduler reconciles with the current environment.
Object.defineProperty(DummyJobExecutorMonitorTask, "enabled", {
  get: (): boolean => DummyJobExecutorSettings.fromEnv().enabled,
  configurable: true,
});
Object.defineProperty(DummyJobExecutorMonitorTask, "defaultSchedule", {
  get: (): Schedule => new IntervalSchedule(DummyJobExecutorSettings.fromEnv().intervalSeconds),
  configurable: true,
});
