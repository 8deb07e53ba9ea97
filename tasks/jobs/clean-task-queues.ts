// Task-queue housekeeping: queue entries of jobs that are no longer Waiting, empty queues,
// and the priority shares of every owner and group.
import {
  Config,
  type ContextOf,
  definePeriodicTask,
  depsOf,
  IntervalSchedule,
  JobDB,
  JobStatus,
  recalculateTqSharesForEntity,
  removeJobsFromTaskQueue,
  type TaskDeps,
  TaskQueueDB,
} from "diracx-tasks";

const SCAN_CHUNK = 1000;

export interface TaskQueueCleanupResult {
  /** Jobs taken out of queues because they are not Waiting (or no longer exist). */
  removedJobs: number[];
  /** Queues deleted because they held no job. */
  deletedTaskQueues: number[];
  /** (owner, group, VO) entities whose shares were recalculated. */
  entities: number;
}

export class CleanTaskQueuesTask extends definePeriodicTask({
  dependencies: { config: Config, taskQueueDB: TaskQueueDB, jobDB: JobDB },
  priority: "background",
  size: "small",
  schedule: new IntervalSchedule(600),
}) {
  async execute(ctx: ContextOf<typeof CleanTaskQueuesTask>): Promise<TaskQueueCleanupResult> {
    const res = await cleanTaskQueues(depsOf(CleanTaskQueuesTask, ctx));
    if (res.removedJobs.length || res.deletedTaskQueues.length) {
      ctx.logger.info({ removedJobs: res.removedJobs.length, deletedTaskQueues: res.deletedTaskQueues.length }, "task queues cleaned");
    }
    return res;
  }
}

export async function cleanTaskQueues(deps: TaskDeps<typeof CleanTaskQueuesTask>): Promise<TaskQueueCleanupResult> {
  const removedJobs: number[] = [];
  const deletedTaskQueues: number[] = [];
  // Queue entries whose job left Waiting without being removed (killed elsewhere, lost, deleted).
  for (let cursor = 0; ; ) {
    const ids = await deps.taskQueueDB.queuedJobIdsAfter(cursor, SCAN_CHUNK);
    if (ids.length === 0) break;
    cursor = ids.at(-1)!;
    const keep = new Set(await deps.jobDB.filterByStatus(ids, JobStatus.Waiting));
    const stale = ids.filter((id) => !keep.has(id));
    if (stale.length) {
      const r = await removeJobsFromTaskQueue(stale, deps.config, deps.taskQueueDB);
      removedJobs.push(...stale);
      deletedTaskQueues.push(...r.deletedTaskQueues);
    }
    if (ids.length < SCAN_CHUNK) break;
  }
  // Queues empty for any other reason.
  const all = await deps.taskQueueDB.retrieveTaskQueues();
  const empty = Object.values(all).filter((tq) => tq.Jobs === 0).map((tq) => tq.TQId);
  deletedTaskQueues.push(...(await deps.taskQueueDB.deleteEmptyTaskQueues(empty)));
  // Shares of everyone still queued: they drift as queues come and go.
  const entities = new Map<string, { owner: string; group: string; vo: string }>();
  for (const tq of Object.values(all)) {
    if (deletedTaskQueues.includes(tq.TQId)) continue;
    entities.set(JSON.stringify([tq.Owner, tq.OwnerGroup, tq.VO]), { owner: tq.Owner, group: tq.OwnerGroup, vo: tq.VO });
  }
  for (const e of entities.values()) await recalculateTqSharesForEntity(e, deps.config, deps.taskQueueDB);
  return { removedJobs, deletedTaskQueues: [...new Set(deletedTaskQueues)].sort((a, b) => a - b), entities: entities.size };
}
