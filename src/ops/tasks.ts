import type { Job, Queue } from "bullmq";
import type { FanoutJobData } from "../engine/fanout.ts";
import type { AttemptRecord } from "../engine/job-data.ts";
import { priorityFromBullmq, queueNameFor, SIZES, type Priority, type Size } from "../engine/priorities.ts";
import type { LockManager } from "../locks/manager.ts";

/*
 * Task inspection and control: the one module both the CLI (`show`, `tasks list`, `cancel`,
 * `retry`, `promote`, `queue pause|resume`) and the HTTP `tasks` router call. Everything it
 * returns is plain data (ISO strings, no class instances), ready for JSON.
 *
 * A task is found by the id `submit` printed (the BullMQ job id) in whichever size's queue
 * holds it; BullMQ keeps a finished task for the retention period
 * (DIRACX_TASKS_KEEP_*_SECONDS), after which it is gone from Redis (a dead-lettered one is
 * then in TaskDB, see `dlq`).
 */

/** What the operations need: the queues (a Producer or an Engine's producer), and locks when shown. */
export interface TaskOpsDeps {
  producer: { queue(size: Size): Queue };
  /** When given, an active task's view lists the locks it holds now. */
  lockManager?: Pick<LockManager, "list">;
}

/** BullMQ's `prioritized` is shown as `waiting`: the priority is a field of its own. */
export const TASK_STATES = ["waiting", "delayed", "active", "failed", "completed", "waiting-children"] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** The states `tasks list --state` accepts. */
export const LISTABLE_STATES = ["waiting", "delayed", "active", "failed", "completed"] as const;
export type ListableState = (typeof LISTABLE_STATES)[number];

/** The states after which a task changes no more (unless someone retries it). */
export const FINAL_STATES: readonly TaskState[] = ["completed", "failed"];

export function isListableState(v: unknown): v is ListableState {
  return typeof v === "string" && (LISTABLE_STATES as readonly string[]).includes(v);
}

export interface TaskSummary {
  /** The id `submit` printed. */
  taskId: string;
  /** `<category>:<Class>`. */
  task: string;
  state: TaskState;
  size: Size;
  queue: string;
  priority: Priority;
  labels: Record<string, string>;
  /** Attempts started so far. */
  attempts: number;
  /** When this job was (re)queued, ISO 8601. */
  queuedAt: string;
  /** For a delayed task: when it becomes runnable. */
  runAt?: string;
  finishedAt?: string;
  failedReason?: string;
}

export interface RelatedTask {
  taskId: string;
  task?: string;
  /** `gone` when Redis no longer holds it (retention passed or removed). */
  state: TaskState | "gone";
  result?: unknown;
  failedReason?: string;
}

export interface HeldLock {
  redisKey: string;
  objectType: string;
  key: string;
  type: string;
  mode?: "read" | "write";
}

export interface TaskView extends TaskSummary {
  args: Record<string, unknown>;
  /** Every failed or requeued attempt with its error (the successful one is `result`). */
  history: AttemptRecord[];
  /** Times the task was put back because a lock was busy. */
  deferrals: number;
  /** First submission, kept across retries and deferrals. */
  firstSubmittedAt: string;
  startedAt?: string;
  /** The task that submitted this one, or the fan-out callback waiting for it. */
  parent?: RelatedTask;
  /** A fan-out callback's children, in spawn order, with their outcomes. */
  children: RelatedTask[];
  result?: unknown;
  /** Held now (only looked up while the task is active and a lock manager is given). */
  locks: HeldLock[];
}

export interface ListOptions {
  state: ListableState;
  /** Only tasks of this `<category>:<Class>`. */
  task?: string;
  size?: Size;
  offset?: number;
  /** Default 100. */
  limit?: number;
}

export interface TaskPage {
  tasks: TaskSummary[];
  /** Tasks in this state (all task ids; with a `task` filter, the count scanned). */
  total: number;
  offset: number;
}

/** The outcome of a control operation; `reason` is one line fit for an operator. */
export type ControlResult =
  | { ok: true; taskId: string; state: TaskState }
  | { ok: false; taskId: string; code: "not-found" | "wrong-state"; state?: TaskState; reason: string };

export interface QueueControlResult {
  size: Size;
  queue: string;
  paused: boolean;
}

type AnyJob = Job<FanoutJobData, unknown, string>;

const iso = (ms: number | undefined): string | undefined => (ms ? new Date(ms).toISOString() : undefined);

function stateOf(raw: string): TaskState | undefined {
  if (raw === "prioritized" || raw === "wait" || raw === "paused") return "waiting";
  return (TASK_STATES as readonly string[]).includes(raw) ? (raw as TaskState) : undefined;
}

/** BullMQ's job-type names for one listable state. */
function bullTypes(state: ListableState): ("wait" | "prioritized" | "delayed" | "active" | "failed" | "completed")[] {
  return state === "waiting" ? ["wait", "prioritized"] : [state];
}

async function findJob(deps: TaskOpsDeps, taskId: string): Promise<{ job: AnyJob; size: Size } | undefined> {
  for (const size of SIZES) {
    const job = (await deps.producer.queue(size).getJob(taskId)) as AnyJob | undefined;
    if (job) return { job, size };
  }
  return undefined;
}

function summary(job: AnyJob, size: Size, state: TaskState): TaskSummary {
  const delayUntil = job.delay > 0 ? job.timestamp + job.delay : undefined;
  const runAt = state === "delayed" ? iso(delayUntil) : undefined;
  const finishedAt = iso(job.finishedOn);
  return {
    taskId: String(job.id),
    task: job.name,
    state,
    size,
    queue: queueNameFor(size),
    priority: priorityFromBullmq(job.opts.priority),
    labels: job.data?.meta?.labels ?? {},
    attempts: job.attemptsStarted ?? job.attemptsMade,
    queuedAt: new Date(job.timestamp).toISOString(),
    ...(runAt ? { runAt } : {}),
    ...(finishedAt ? { finishedAt } : {}),
    ...(state === "failed" && job.failedReason ? { failedReason: job.failedReason } : {}),
  };
}

async function related(deps: TaskOpsDeps, taskId: string, task?: string): Promise<RelatedTask> {
  const found = await findJob(deps, taskId);
  if (!found) return { taskId, ...(task ? { task } : {}), state: "gone" };
  const state = stateOf(await found.job.getState()) ?? "waiting";
  return {
    taskId,
    task: found.job.name,
    state,
    ...(state === "completed" ? { result: found.job.returnvalue } : {}),
    ...(state === "failed" && found.job.failedReason ? { failedReason: found.job.failedReason } : {}),
  };
}

/** `<prefix>:<queue>:<jobId>` → jobId (task ids are UUIDs, without colons). */
function jobIdOfKey(key: string): string {
  return key.slice(key.lastIndexOf(":") + 1);
}

async function heldLocks(deps: TaskOpsDeps, taskId: string): Promise<HeldLock[]> {
  if (!deps.lockManager) return [];
  const out: HeldLock[] = [];
  for (const info of await deps.lockManager.list()) {
    for (const h of info.holders) {
      if (h.taskId !== taskId) continue;
      out.push({ redisKey: info.redisKey, objectType: info.objectType, key: info.key, type: info.type, ...(h.mode ? { mode: h.mode } : {}) });
    }
  }
  return out;
}

/** A task's whole story by its id, or undefined when Redis does not (or no longer) hold it. */
export async function getTask(deps: TaskOpsDeps, taskId: string): Promise<TaskView | undefined> {
  const found = await findJob(deps, taskId);
  if (!found) return undefined;
  const { size } = found;
  let { job } = found;
  const state = stateOf(await job.getState());
  if (!state) return undefined; // removed between the two reads
  // The job was read before its state: one that finished in between is read again, so a final
  // state comes with its result and last attempt (seen as `completed` with no result otherwise).
  if (FINAL_STATES.includes(state)) job = (await findJob(deps, taskId))?.job ?? job;
  const meta = job.data?.meta;
  const parentId = job.parentKey ? jobIdOfKey(job.parentKey) : meta?.parentTaskId;
  const children = await Promise.all((job.data?.fanout?.children ?? []).map(([id, task]) => related(deps, id, task)));
  const startedAt = iso(job.processedOn);
  return {
    ...summary(job, size, state),
    args: job.data?.args ?? {},
    history: meta?.history ?? [],
    deferrals: meta?.deferrals ?? 0,
    firstSubmittedAt: new Date(meta?.firstSubmittedAt ?? job.timestamp).toISOString(),
    ...(startedAt ? { startedAt } : {}),
    ...(parentId ? { parent: await related(deps, parentId) } : {}),
    children,
    ...(state === "completed" ? { result: job.returnvalue } : {}),
    locks: state === "active" ? await heldLocks(deps, taskId) : [],
  };
}

/**
 * Tasks in one state, the sizes one after the other (small, medium, large) as one list.
 * With a `task` filter the queues are scanned in pages, since BullMQ keeps no index by name.
 */
export async function listTasks(deps: TaskOpsDeps, opts: ListOptions): Promise<TaskPage> {
  const offset = Math.max(0, opts.offset ?? 0);
  const limit = Math.max(1, opts.limit ?? 100);
  const sizes = opts.size ? [opts.size] : SIZES;
  const types = bullTypes(opts.state);
  const tasks: TaskSummary[] = [];
  let total = 0;
  if (!opts.task) {
    let skip = offset;
    for (const size of sizes) {
      const q = deps.producer.queue(size);
      const n = await q.getJobCountByTypes(...types);
      total += n;
      if (tasks.length >= limit || skip >= n) {
        skip = Math.max(0, skip - n);
        continue;
      }
      const jobs = (await q.getJobs(types, skip, skip + (limit - tasks.length) - 1)) as AnyJob[];
      skip = 0;
      tasks.push(...jobs.filter(Boolean).map((j) => summary(j, size, stateOf(opts.state)!)));
    }
    return { tasks, total, offset };
  }
  const PAGE = 500;
  let matched = 0;
  for (const size of sizes) {
    const q = deps.producer.queue(size);
    for (let start = 0; ; start += PAGE) {
      const jobs = (await q.getJobs(types, start, start + PAGE - 1)) as AnyJob[];
      for (const j of jobs) {
        if (!j || j.name !== opts.task) continue;
        if (matched >= offset && tasks.length < limit) tasks.push(summary(j, size, stateOf(opts.state)!));
        matched += 1;
      }
      if (jobs.length < PAGE) break;
    }
  }
  return { tasks, total: matched, offset };
}

async function control(
  deps: TaskOpsDeps,
  taskId: string,
  allowed: readonly TaskState[],
  verb: string,
  act: (job: AnyJob, state: TaskState) => Promise<TaskState>,
): Promise<ControlResult> {
  const found = await findJob(deps, taskId);
  if (!found) return { ok: false, taskId, code: "not-found", reason: `no task ${taskId} in Redis (never submitted, or removed after its retention period)` };
  const state = stateOf(await found.job.getState());
  if (!state || !allowed.includes(state)) {
    return {
      ok: false,
      taskId,
      code: "wrong-state",
      ...(state ? { state } : {}),
      reason: `cannot ${verb} task ${taskId} (${found.job.name}): it is ${state ?? "gone"}, only a ${allowed.join(" or ")} task can be`,
    };
  }
  return { ok: true, taskId, state: await act(found.job, state) };
}

/** Removes a task that has not started (waiting or delayed); it will not run. `state` is the one it was cancelled in. */
export function cancelTask(deps: TaskOpsDeps, taskId: string): Promise<ControlResult> {
  return control(deps, taskId, ["waiting", "delayed"], "cancel", async (job, state) => {
    await job.remove();
    return state;
  });
}

/** Puts a failed task back on its queue for another round of attempts (its history is kept). */
export function retryTask(deps: TaskOpsDeps, taskId: string): Promise<ControlResult> {
  return control(deps, taskId, ["failed"], "retry", async (job) => {
    await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    return "waiting";
  });
}

/** Makes a delayed task runnable now. */
export function promoteTask(deps: TaskOpsDeps, taskId: string): Promise<ControlResult> {
  return control(deps, taskId, ["delayed"], "promote", async (job) => {
    await job.promote();
    return "waiting";
  });
}

/** Stops workers of one size from taking new tasks (running ones finish). */
export async function pauseQueue(deps: TaskOpsDeps, size: Size): Promise<QueueControlResult> {
  const q = deps.producer.queue(size);
  await q.pause();
  return { size, queue: queueNameFor(size), paused: await q.isPaused() };
}

export async function resumeQueue(deps: TaskOpsDeps, size: Size): Promise<QueueControlResult> {
  const q = deps.producer.queue(size);
  await q.resume();
  return { size, queue: queueNameFor(size), paused: await q.isPaused() };
}

export async function queuePaused(deps: TaskOpsDeps, size: Size): Promise<QueueControlResult> {
  return { size, queue: queueNameFor(size), paused: await deps.producer.queue(size).isPaused() };
}

export interface FollowOptions {
  /** Give up after this long (the view returned is then not final). */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Poll interval; default 250 ms. */
  intervalMs?: number;
}

/**
 * Waits for a task to reach a final state, bounded by `timeoutMs` and `signal`; returns the
 * last view read (undefined if the task is not, or no longer, in Redis).
 */
export async function followTask(deps: TaskOpsDeps, taskId: string, opts: FollowOptions): Promise<{ view: TaskView | undefined; final: boolean }> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 250;
  for (;;) {
    const view = await getTask(deps, taskId);
    if (!view) return { view, final: false };
    if (FINAL_STATES.includes(view.state)) return { view, final: true };
    if (Date.now() >= deadline || opts.signal?.aborted) return { view, final: false };
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, Math.min(interval, Math.max(0, deadline - Date.now())));
      function done(): void {
        clearTimeout(t);
        opts.signal?.removeEventListener("abort", done);
        resolve();
      }
      opts.signal?.addEventListener("abort", done, { once: true });
    });
  }
}
