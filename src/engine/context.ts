import { AsyncLocalStorage } from "node:async_hooks";
import type { Logger } from "pino";
import { DiracxError } from "../errors.ts";
import type { DependencySpec, ResolvedDeps } from "./ports.ts";
import type { ChildOutcome, FanoutHandle, SpawnOptions } from "./fanout.ts";
import type { SubmitOptions, TaskSubmitter } from "./producer-types.ts";

/** What `execute(ctx)` receives. */
export interface TaskContext<D extends DependencySpec = DependencySpec> {
  /** The resolved dependencies, one transaction per DB, committed only if execute succeeds. */
  readonly deps: ResolvedDeps<D>;
  /** Aborted on timeout, lost lock or worker shutdown; pass it to I/O that accepts one. */
  readonly signal: AbortSignal;
  /** Carries task id, name, attempt, size, priority and VO on every line. */
  readonly logger: Logger;
  readonly taskId: string;
  /** 1 for the first execution, 2 for the first retry… (lock deferrals do not count). */
  readonly attempt: number;
  /** Set when a lock was lost while running (the signal is aborted too). */
  readonly lockLost: { readonly lost: boolean; readonly keys: readonly string[] };
  /** Submits another task as a child of this one (its own priority and size). */
  schedule(task: { schedule(opts?: SubmitOptions): Promise<string> }, opts?: SubmitOptions): Promise<string>;
  /** Fan-out/fan-in: children in their own queues, `callback` once after every child finished (fanout.ts). */
  spawnWithCallback(children: readonly object[], callback: object, opts?: SpawnOptions): Promise<FanoutHandle>;
  /** In a fan-out callback: every child's outcome (result or error), in spawn order; [] elsewhere. */
  childOutcomes(): Promise<ChildOutcome[]>;
}

interface Binding {
  submitter: TaskSubmitter;
  parentTaskId?: string;
}

const storage = new AsyncLocalStorage<Binding>();
let defaultSubmitter: TaskSubmitter | undefined;

export class ProducerNotBoundError extends DiracxError {}

/**
 * Runs `fn` with `submitter` bound, so `task.schedule()` inside it uses it (and records
 * `parentTaskId` if given). It rides on AsyncLocalStorage, whose async hooks tax every
 * promise of the process on Node < 24, so the worker does not wrap tasks in it: inside a
 * task, `ctx.schedule()` is the way that records the parent.
 */
export function withProducer<T>(submitter: TaskSubmitter, fn: () => T, parentTaskId?: string): T {
  return storage.run({ submitter, ...(parentTaskId ? { parentTaskId } : {}) }, fn);
}

/** Binds a producer for code with no surrounding binding (routers, scripts, tasks); pass undefined to unbind. */
export function setDefaultProducer(submitter: TaskSubmitter | undefined): void {
  defaultSubmitter = submitter;
}

/**
 * Makes `submitter` the default producer unless one is bound already (a worker does this, so
 * `task.schedule()` in its tasks needs no setup); the returned function undoes it if still ours.
 */
export function bindDefaultProducer(submitter: TaskSubmitter): () => void {
  if (defaultSubmitter) return () => {};
  defaultSubmitter = submitter;
  return () => {
    if (defaultSubmitter === submitter) defaultSubmitter = undefined;
  };
}

/** The producer bound here, and the parent task if we are inside one. */
export function currentBinding(): Binding {
  const bound = storage.getStore();
  if (bound) return bound;
  if (defaultSubmitter) return { submitter: defaultSubmitter };
  throw new ProducerNotBoundError(
    "task.schedule(): no producer is bound here (inside workers and `diracx-tasks call` one is; elsewhere call setDefaultProducer(new Producer(...)))",
  );
}
