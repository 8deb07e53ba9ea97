/**
 * Fan-out / fan-in on BullMQ flows. The callback is the flow's parent job and
 * the children are its dependencies, each in the queue of its OWN size at its
 * OWN priority. BullMQ moves the parent to its queue exactly once, when the
 * last dependency is resolved, so:
 * - a child deferred by lock contention (moved to delayed) or waiting for a
 *   retry is still a dependency and does not advance the group;
 * - every child carries `ignoreDependencyOnFailure`, so a child that fails for
 *   good resolves its dependency with its error instead of leaving the callback
 *   hanging (upstream's callback never fired after a failed child, never saw
 *   results, and never fired for zero children);
 * - `requireAllSuccess` is checked by the worker before the callback executes
 *   (ChildrenFailedError), so the failure goes through the normal failure path
 *   (history, metrics, dead-letter queue) rather than BullMQ's
 *   failParentOnFailure, which would fail the parent without our worker seeing it.
 */
import { randomUUID } from "node:crypto";
import type { Job } from "bullmq";
import type { BrokerConnection } from "../redis-cluster.ts";
import { DiracxError } from "../errors.ts";
import { currentBinding, classOf, type AnyTask } from "./task.ts";
import type { StoredTaskJobData, TaskJobData } from "./job-data.ts";
import { queueNameFor } from "./priorities.ts";
import type { BulkItem, PreparedJob } from "./job-data.ts";
import type { SubmitOptions } from "./producer-types.ts";
import type { ChildOutcome, FanoutHandle, SpawnOptions } from "./fanout-types.ts";
import { StopRetrying } from "./retry.ts";
import type { FlowProducer, Queue } from "bullmq";
import type { Size } from "./priorities.ts";

/** Label every member of a group carries (callback and children). */
export const FANOUT_GROUP_LABEL = "fanoutGroup";

export type { ChildOutcome, FanoutHandle, SpawnOptions };

/** Kept in the callback job's data: which children it waits for. */
export interface FanoutSpec {
  groupId: string;
  requireAllSuccess: boolean;
  /** [taskId, task] per child, in spawn order. */
  children: [string, string][];
}

/** The stored data of a job that may be a fan-out callback. */
export type FanoutJobData = StoredTaskJobData & { fanout?: FanoutSpec };

/** The callback of a `requireAllSuccess` group ran while some children had failed. */
export class ChildrenFailedError extends StopRetrying {}

/** What spawning needs from the producer. */
export interface FlowSubmitter {
  prepare(item: BulkItem): PreparedJob;
  flows(): FlowProducer;
  queue(size: Size): Queue;
}

function taskItem(task: AnyTask, opts: SubmitOptions): BulkItem {
  return { task: classOf(task), args: task.args, opts };
}

/**
 * Submits `children` and `callback` as one group: nothing is enqueued unless
 * every argument validates, and the whole flow is one Redis transaction.
 */
export async function spawnWithCallback(producer: FlowSubmitter, children: readonly AnyTask[], callback: AnyTask, opts: SpawnOptions = {}): Promise<FanoutHandle> {
  const { requireAllSuccess = false, ...submit } = opts;
  const groupId = randomUUID();
  const labels = { ...(submit.labels ?? {}), [FANOUT_GROUP_LABEL]: groupId };
  const childJobs = children.map((c) => producer.prepare(taskItem(c, { labels, ...(submit.parentTaskId ? { parentTaskId: submit.parentTaskId } : {}) })));
  const cb = producer.prepare(taskItem(callback, { ...submit, labels }));
  const fanout: FanoutSpec = { groupId, requireAllSuccess, children: childJobs.map((j) => [j.opts.jobId as string, j.name]) };
  const data: FanoutJobData = { ...cb.data, fanout };
  if (childJobs.length === 0) {
    // No dependencies: the callback is an ordinary job, runnable at once.
    await producer.queue(cb.size).add(cb.name, data, cb.opts);
  } else {
    await producer.flows().add({
      name: cb.name,
      queueName: queueNameFor(cb.size),
      data,
      opts: cb.opts,
      children: childJobs.map((j) => ({ name: j.name, queueName: queueNameFor(j.size), data: j.data, opts: { ...j.opts, ignoreDependencyOnFailure: true } })),
    });
  }
  return { groupId, callbackTaskId: cb.opts.jobId as string, childTaskIds: fanout.children.map(([id]) => id) };
}

/**
 * `spawnWithCallback` through the producer bound here (inside a task, the
 * worker's; elsewhere the one given to setDefaultProducer), like task.schedule().
 */
export async function spawnWithCallbackHere(children: readonly AnyTask[], callback: AnyTask, opts: SpawnOptions = {}): Promise<FanoutHandle> {
  const { submitter, parentTaskId } = currentBinding();
  if (!submitter.spawnWithCallback) throw new DiracxError("spawnWithCallback: the bound producer cannot submit fan-out groups (use a Producer)");
  return submitter.spawnWithCallback(children, callback, { ...(parentTaskId ? { parentTaskId } : {}), ...opts });
}

/** `<prefix>:<queue>:<jobId>` → jobId (task ids are UUIDs, without colons). */
function jobIdOfKey(key: string): string {
  return key.slice(key.lastIndexOf(":") + 1);
}

/**
 * Every child's outcome for a callback job, in spawn order. Results come from
 * BullMQ's record of processed children; failures from its ignored-failures
 * record, with the error type taken from the child's own attempt history when
 * the child job is still in Redis.
 */
export async function childOutcomesOf(job: Pick<Job<FanoutJobData>, "data" | "getChildrenValues" | "getIgnoredChildrenFailures">, redis: BrokerConnection): Promise<ChildOutcome[]> {
  const spec = job.data.fanout;
  if (!spec || spec.children.length === 0) return [];
  const [values, failures] = await Promise.all([job.getChildrenValues<unknown>(), job.getIgnoredChildrenFailures()]);
  const resultById = new Map(Object.entries(values).map(([k, v]) => [jobIdOfKey(k), v]));
  const failureById = new Map(Object.entries(failures).map(([k, reason]) => [jobIdOfKey(k), { key: k, reason }]));
  const failedKeys = [...failureById.values()].map((f) => f.key);
  const types = new Map<string, string>();
  if (failedKeys.length) {
    const pipe = redis.pipeline();
    for (const k of failedKeys) pipe.hget(k, "data");
    const rows = (await pipe.exec()) ?? [];
    rows.forEach(([, raw], i) => {
      if (typeof raw !== "string") return;
      const history = (JSON.parse(raw) as TaskJobData).meta?.history ?? [];
      const last = history.filter((h) => h.outcome === "failed").at(-1);
      if (last?.error) types.set(jobIdOfKey(failedKeys[i]!), last.error.type);
    });
  }
  return spec.children.map(([taskId, task]): ChildOutcome => {
    if (resultById.has(taskId)) return { taskId, task, status: "completed", result: resultById.get(taskId) };
    const failed = failureById.get(taskId);
    if (failed) return { taskId, task, status: "failed", error: { type: types.get(taskId) ?? "Error", message: failed.reason } };
    // BullMQ only releases the parent once every dependency is resolved; a
    // missing record means someone removed the child by hand.
    return { taskId, task, status: "failed", error: { type: "ChildLost", message: `child ${task} (${taskId}) has no recorded outcome (removed?)` } };
  });
}

/** What a task that is not a fan-out callback gets: nothing (one shared object). */
const NO_HOOKS = Object.freeze({});

/**
 * What the worker adds to an attempt of a callback: `ctx.childOutcomes()`, and
 * for `requireAllSuccess` groups a check that fails the attempt before execute.
 */
export function fanoutAttemptHooks(job: Job<TaskJobData>, redis: BrokerConnection): { childOutcomes?: () => Promise<ChildOutcome[]>; beforeExecute?: () => Promise<void> } {
  const fjob = job as Job<FanoutJobData>;
  // Not a callback: nothing to add (ctx.childOutcomes() is [] by default).
  if (!fjob.data.fanout) return NO_HOOKS;
  let memo: Promise<ChildOutcome[]> | undefined;
  const childOutcomes = (): Promise<ChildOutcome[]> => (memo ??= childOutcomesOf(fjob, redis));
  if (!fjob.data.fanout?.requireAllSuccess) return { childOutcomes };
  return {
    childOutcomes,
    beforeExecute: async () => {
      const failed = (await childOutcomes()).filter((o) => o.status === "failed");
      if (failed.length === 0) return;
      const first = failed[0]!;
      throw new ChildrenFailedError(
        `${failed.length} of ${fjob.data.fanout!.children.length} children of group ${fjob.data.fanout!.groupId} failed (first: ${first.task} ${first.taskId}: ${first.error?.type}: ${first.error?.message})`,
      );
    },
  };
}
