// A stand-in for pilots and the matcher, so a development installation sees jobs finish:
// the monitor picks up Received jobs and one executor per job walks it to Done.
import { z } from "zod";
import {
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
} from "diracx-tasks";
import { JOB_STATUS_DEPS, SOURCES } from "./deps.ts";

export class DummyJobExecutorSettings extends defineSettings(
  "DIRACX_TASKS_DUMMY_JOB_EXECUTOR_",
  z.object({
    enabled: z.boolean().default(false),
    intervalSeconds: z.number().int().positive().default(10),
  }),
) {}

/** Jobs moved per monitor run; the rest wait for the next run. */
export const MONITOR_BATCH = 1000;

/** Walks one job Matched → Running → Done, as a pilot running it would report. */
export class DummyJobExecutorTask extends defineTask({
  args: z.object({ jobId: z.number().int().positive() }),
  dependencies: JOB_STATUS_DEPS,
  priority: "normal",
  size: "large",
  retryPolicy: new ExponentialBackoff({ baseDelaySeconds: 10, maxRetries: 3 }),
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
    if (status !== JobStatus.Waiting && status !== JobStatus.Matched && status !== JobStatus.Running) {
      ctx.logger.info({ jobId, status: status ?? "(no such job)" }, "dummy executor: job is not waiting to run; nothing to do");
      return null;
    }
    // Matching takes a job out of its task queue.
    await removeJobsFromTaskQueue([jobId], deps.config, deps.taskQueueDB);
    const t = Date.now();
    const step = (status: JobStatus, offsetMs: number) => ({
      time: new Date(t + offsetMs),
      status,
      minorStatus: JobMinorStatus.DummyExecutor,
      source: SOURCES.dummyExecutor,
    });
    const res = await setJobStatuses(
      { [jobId]: [step(JobStatus.Matched, 0), step(JobStatus.Running, 1000), step(JobStatus.Done, 5000)] },
      deps,
    );
    if (res.failed[jobId]) throw new Error(`dummy executor: job ${jobId}: ${res.failed[jobId].detail}`);
    return jobId;
  }
}

/**
 * Moves Received jobs to Waiting and spawns one executor per job. Off unless
 * `DIRACX_TASKS_DUMMY_JOB_EXECUTOR_ENABLED` is true; the switch and the interval are read
 * when the scheduler asks (not when the module is imported, as upstream did).
 */
export class DummyJobExecutorMonitorTask extends definePeriodicTask({
  dependencies: { units: unitsOfWork(JOB_STATUS_DEPS) },
  priority: "background",
  size: "small",
}) {
  async execute(ctx: ContextOf<typeof DummyJobExecutorMonitorTask>): Promise<number> {
    const { units } = depsOf(DummyJobExecutorMonitorTask, ctx);
    // Committed before the executors are spawned, so none of them can find its job still Received.
    const moved = await units.run(async (deps) => {
      const { rows } = await deps.jobDB.search({
        parameters: ["JobID"],
        search: [{ parameter: "Status", operator: "eq", value: JobStatus.Received }],
        sorts: [{ parameter: "JobID", direction: "asc" }],
        perPage: MONITOR_BATCH,
      });
      const ids = rows.map((r) => r.JobID!).filter((id) => id !== undefined);
      if (ids.length === 0) return [];
      const now = new Date();
      const res = await setJobStatuses(
        Object.fromEntries(ids.map((id) => [id, [{ time: now, status: JobStatus.Waiting, minorStatus: JobMinorStatus.DummyExecutor, source: SOURCES.dummyExecutor }]])),
        deps,
      );
      return ids.filter((id) => res.success[id]?.Status === JobStatus.Waiting);
    });
    for (const jobId of moved) await ctx.schedule(new DummyJobExecutorTask({ jobId }));
    if (moved.length) ctx.logger.info({ jobs: moved.length }, "dummy executor: jobs handed to executors");
    return moved.length;
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
