// Task-queue share and priority computation (DIRAC's TaskQueueDB priorities): each
// owner/group's share is split across its task queues in proportion to the queues'
// job priorities, and equivalent queues (same requirements but for sites) share one value.

/** The smallest priority a task queue gets (background queues get exactly this). */
export const TQ_MIN_SHARE = 0.001;
/** A task queue at or under this average job priority is "background" when the group allows it. */
export const BACKGROUND_PRIORITY_THRESHOLD = 0.1;
/** The share of a group without an explicit `JobShare`. */
export const DEFAULT_JOB_SHARE = 1000;
/** The group property under which the whole group shares one pool (not per owner). */
export const JOB_SHARING_PROPERTY = "JobSharing";

/** A task queue as far as its priority is concerned (TaskQueueDB's `retrieveTaskQueues` rows fit). */
export interface TaskQueueShape {
  Owner: string;
  OwnerGroup: string;
  VO: string;
  CPUTime: number;
  Sites: readonly string[];
  GridCEs: readonly string[];
  BannedSites: readonly string[];
  Platforms: readonly string[];
  JobTypes: readonly string[];
  Tags: readonly string[];
}

/**
 * Two queues that differ only in where they may run compete for the same jobs'
 * share, so they are grouped and given the group's summed priority.
 */
export function equivalenceKey(tq: TaskQueueShape): string {
  const sorted = (xs: readonly string[]) => [...xs].sort().join(",");
  return JSON.stringify([tq.Owner, tq.OwnerGroup, tq.VO, tq.CPUTime, sorted(tq.GridCEs), sorted(tq.Platforms), sorted(tq.JobTypes), sorted(tq.Tags)]);
}

/**
 * Priorities for the task queues of one entity. `jobPriorities` maps each queue with
 * jobs to its average job priority; the result groups queue ids by new priority.
 */
export function calculatePriorities(
  jobPriorities: ReadonlyMap<number, number>,
  definitions: ReadonlyMap<number, TaskQueueShape>,
  share: number,
  allowBackground: boolean,
): Map<number, number[]> {
  const prio = new Map<number, number>();
  const foreground: Array<[number, number]> = [];
  for (const [tqId, p] of jobPriorities) {
    if (allowBackground && p <= BACKGROUND_PRIORITY_THRESHOLD) prio.set(tqId, TQ_MIN_SHARE);
    else foreground.push([tqId, p]);
  }
  const total = foreground.reduce((s, [, p]) => s + p, 0);
  for (const [tqId, p] of foreground) {
    // All-zero priorities would divide by zero (the upstream bug): split evenly instead.
    const value = total > 0 ? (share * p) / total : share / foreground.length;
    prio.set(tqId, Math.max(value, TQ_MIN_SHARE));
  }

  const groups = new Map<string, number[]>();
  for (const tqId of prio.keys()) {
    const def = definitions.get(tqId);
    const key = def ? equivalenceKey(def) : `tq:${tqId}`;
    const g = groups.get(key);
    if (g) g.push(tqId);
    else groups.set(key, [tqId]);
  }
  const byPriority = new Map<number, number[]>();
  for (const members of groups.values()) {
    const sum = members.reduce((s, id) => s + (prio.get(id) ?? 0), 0);
    const list = byPriority.get(sum);
    if (list) list.push(...members);
    else byPriority.set(sum, [...members]);
  }
  for (const ids of byPriority.values()) ids.sort((a, b) => a - b);
  return byPriority;
}
