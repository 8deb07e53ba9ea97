// Keeping task queues and their shares consistent when jobs leave them.
import type { TaskQueueDB } from "../../db/sql/task-queue-db.ts";
import { DEFAULT_JOB_SHARE, JOB_SHARING_PROPERTY, calculatePriorities, type TaskQueueShape } from "./priority.ts";

/** The part of the DiracX configuration share computation reads (`DiracxConfig` fits). */
export interface SharesConfig {
  Registry: Readonly<
    Record<string, { Groups?: Readonly<Record<string, { Properties?: readonly string[]; JobShare?: number; AllowBackgroundTQs?: boolean }>> }>
  >;
}

type TQDB = Pick<
  TaskQueueDB,
  "getTqInfosForJobs" | "removeJobs" | "deleteEmptyTaskQueues" | "getTaskQueueOwnersByGroup" | "getTaskQueuePriorities" | "retrieveTaskQueues" | "setTaskQueuePriorities"
>;

async function setPrioritiesForEntity(tqDB: TQDB, group: string, owner: string | undefined, share: number, allowBackground: boolean): Promise<void> {
  const jobPriorities = await tqDB.getTaskQueuePriorities(group, owner);
  const ids = Object.keys(jobPriorities).map(Number);
  if (ids.length === 0) return;
  const infos = await tqDB.retrieveTaskQueues(ids);
  const defs = new Map<number, TaskQueueShape>(Object.entries(infos).map(([id, info]) => [Number(id), info]));
  const byPriority = calculatePriorities(new Map(ids.map((id) => [id, jobPriorities[id]!])), defs, share, allowBackground);
  const updates: Record<number, number> = {};
  for (const [p, tqIds] of byPriority) for (const id of tqIds) updates[id] = p;
  await tqDB.setTaskQueuePriorities(updates);
}

/**
 * Recomputes the priorities of an owner's (or the whole group's, under JobSharing)
 * task queues from `Registry.<vo>.Groups.<group>` (JobShare, AllowBackgroundTQs).
 */
export async function recalculateTqSharesForEntity(
  entity: { owner: string; group: string; vo: string },
  config: SharesConfig,
  tqDB: TQDB,
): Promise<void> {
  const groupCfg = config.Registry[entity.vo]?.Groups?.[entity.group];
  const share = groupCfg?.JobShare ?? DEFAULT_JOB_SHARE;
  const allowBackground = groupCfg?.AllowBackgroundTQs ?? false;
  if (groupCfg?.Properties?.includes(JOB_SHARING_PROPERTY)) {
    await setPrioritiesForEntity(tqDB, entity.group, undefined, share, allowBackground);
    return;
  }
  const owners = await tqDB.getTaskQueueOwnersByGroup(entity.group);
  const names = Object.keys(owners);
  if (names.length === 0) return;
  const perOwner = share / names.length;
  // With the owner still holding several queues the number of owners is unchanged, so
  // only its own queues move; otherwise every owner's slice of the share changed.
  const targets = (owners[entity.owner] ?? 0) > 1 ? [entity.owner] : names;
  for (const owner of targets) await setPrioritiesForEntity(tqDB, entity.group, owner, perOwner, allowBackground);
}

/**
 * Takes jobs out of their task queues, deletes the enabled queues left empty, and
 * recalculates the shares of every entity affected. The queues' owners are read
 * BEFORE the jobs are removed (upstream read them after, so nothing was ever cleaned).
 */
export async function removeJobsFromTaskQueue(jobIds: readonly number[], config: SharesConfig, tqDB: TQDB): Promise<{ removed: number; deletedTaskQueues: number[] }> {
  if (jobIds.length === 0) return { removed: 0, deletedTaskQueues: [] };
  const infos = await tqDB.getTqInfosForJobs(jobIds);
  const removed = await tqDB.removeJobs(jobIds);
  const deletedTaskQueues = await tqDB.deleteEmptyTaskQueues(infos.map((i) => i.TQId));
  const entities = new Map<string, { owner: string; group: string; vo: string }>();
  for (const i of infos) entities.set(JSON.stringify([i.Owner, i.OwnerGroup, i.VO]), { owner: i.Owner, group: i.OwnerGroup, vo: i.VO });
  for (const e of entities.values()) await recalculateTqSharesForEntity(e, config, tqDB);
  return { removed, deletedTaskQueues };
}
