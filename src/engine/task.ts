import { AsyncLocalStorage } from "node:async_hooks";
import type { Logger } from "pino";
import { z } from "zod";
import { DiracxError } from "../errors.ts";
import type { Lock } from "../locks/index.ts";
import type { ChildOutcome, FanoutHandle, SpawnOptions } from "./fanout-types.ts";
import type { DependencySpec, ResolvedDeps } from "./ports.ts";
import { type Priority, type Size } from "./priorities.ts";
import type { SubmitOptions } from "./producer-types.ts";
import { NoRetry, type RetryPolicy } from "./retry.ts";
import type { Schedule } from "./schedules.ts";
import { defaultTaskLocks, periodicTaskLocks, periodicVoTaskLocks } from "./default-locks.ts";

// The task model, what `execute(ctx)` receives and the producer `task.schedule()` submits
// through live together: each names the others, and this module imports none of the modules
// that implement them (producer, worker, fan-out), so the engine has no import cycle.

/** Any zod object schema describing a task's JSON payload. */
export type ArgsSchema = z.ZodObject;

/**
 * A unit of work. The constructor argument is the JSON payload (validated
 * against `static args` when submitted); `execute(ctx)` does the work. The
 * statics declare how it is queued and run. Prefer `defineTask({...})` as the
 * base class: it types `this.args` from the schema and `ctx.deps` from the
 * declared dependencies.
 */
export abstract class Task<A extends object = Record<string, unknown>, D extends DependencySpec = DependencySpec> {
  static args: ArgsSchema = z.object({});
  static priority: Priority = "normal";
  static size: Size = "medium";
  static retryPolicy: RetryPolicy = new NoRetry();
  /** On final failure, persist to the SQL dead-letter queue. */
  static dlqEligible = false;
  /** Attempt timeout; undefined = the default of the task's size. */
  static timeoutMs: number | undefined = undefined;
  static dependencies: DependencySpec = {};

  readonly args: A;

  constructor(args: A) {
    this.args = args;
  }

  /** Locks taken all-or-nothing before execute, released after commit/rollback. */
  locks(): Lock[] {
    return defaultTaskLocks(this.constructor.name);
  }

  abstract execute(ctx: TaskContext<D>): Promise<unknown>;

  /**
   * Submits this task through the producer bound here (worker, CLI, or setDefaultProducer),
   * under the id its class is registered with: if an extension replaced that task, the
   * replacement is what runs.
   */
  async schedule(opts: SubmitOptions = {}): Promise<string> {
    return submitTask(currentBinding(), this, opts);
  }
}

/** A task with a default schedule, fired by the scheduler. Default lock: a mutex on the task. */
export abstract class PeriodicTask<A extends object = Record<string, unknown>, D extends DependencySpec = DependencySpec> extends Task<A, D> {
  static defaultSchedule: Schedule | undefined = undefined;
  static enabled = true;

  override locks(): Lock[] {
    return periodicTaskLocks(this.constructor.name);
  }
}

/** A periodic task fired once per VO with args `{vo}`; mutex per (task, VO). */
export abstract class PeriodicVoAwareTask<A extends { vo: string } = { vo: string }, D extends DependencySpec = DependencySpec> extends PeriodicTask<A, D> {
  static override args: ArgsSchema = z.object({ vo: z.string().min(1) });

  override locks(): Lock[] {
    return periodicVoTaskLocks(this.constructor.name, this.args.vo);
  }
}

/** The static side of a concrete task class, as the registry, producer and worker see it. */
export interface TaskClass {
  new (args: never): Task<object, DependencySpec>;
  readonly name: string;
  args: ArgsSchema;
  priority: Priority;
  size: Size;
  retryPolicy: RetryPolicy;
  dlqEligible: boolean;
  timeoutMs: number | undefined;
  dependencies: DependencySpec;
}

export interface PeriodicTaskClass extends TaskClass {
  defaultSchedule: Schedule | undefined;
  enabled: boolean;
}

/** `ctx` type of a task class: `async execute(ctx: ContextOf<typeof MyTask>)`. */
export type ContextOf<C extends { dependencies: DependencySpec }> = TaskContext<C["dependencies"]>;

export interface TaskDefinition<S extends ArgsSchema, D extends DependencySpec> {
  args?: S;
  dependencies?: D;
  priority?: Priority;
  size?: Size;
  retryPolicy?: RetryPolicy;
  dlqEligible?: boolean;
  timeoutMs?: number;
}

export interface PeriodicTaskDefinition<S extends ArgsSchema, D extends DependencySpec> extends TaskDefinition<S, D> {
  schedule?: Schedule;
  enabled?: boolean;
}

function applyDefinition(cls: { [k: string]: unknown }, def: PeriodicTaskDefinition<ArgsSchema, DependencySpec>): void {
  const statics: Record<string, unknown> = {
    args: def.args,
    dependencies: def.dependencies,
    priority: def.priority,
    size: def.size,
    retryPolicy: def.retryPolicy,
    dlqEligible: def.dlqEligible,
    timeoutMs: def.timeoutMs,
    defaultSchedule: def.schedule,
    enabled: def.enabled,
  };
  for (const [k, v] of Object.entries(statics)) if (v !== undefined) cls[k] = v;
}

/**
 * Base class for a task:
 *
 *   export class Cleanup extends defineTask({ args: z.object({ vo: z.string() }), dependencies: { jobDB: JobDB }, size: "large" }) {
 *     async execute(ctx: ContextOf<typeof Cleanup>) { await ctx.deps.jobDB.…(this.args.vo) }
 *   }
 */
export function defineTask<S extends ArgsSchema = z.ZodObject<{}>, D extends DependencySpec = {}>(def: TaskDefinition<S, D> = {}) {
  abstract class DefinedTask extends Task<z.output<S>, D> {
    static declare args: S;
    static declare dependencies: D;
  }
  applyDefinition(DefinedTask as unknown as { [k: string]: unknown }, def);
  return DefinedTask;
}

/** Base class for a periodic task (`schedule` = its default schedule). */
export function definePeriodicTask<S extends ArgsSchema = z.ZodObject<{}>, D extends DependencySpec = {}>(def: PeriodicTaskDefinition<S, D> = {}) {
  abstract class DefinedPeriodicTask extends PeriodicTask<z.output<S>, D> {
    static declare args: S;
    static declare dependencies: D;
  }
  applyDefinition(DefinedPeriodicTask as unknown as { [k: string]: unknown }, def);
  return DefinedPeriodicTask;
}

/** Base class for a per-VO periodic task; its args always include `vo`. */
export function definePeriodicVoAwareTask<D extends DependencySpec = {}>(def: Omit<PeriodicTaskDefinition<ArgsSchema, D>, "args"> = {}) {
  abstract class DefinedVoTask extends PeriodicVoAwareTask<{ vo: string }, D> {
    static declare dependencies: D;
  }
  applyDefinition(DefinedVoTask as unknown as { [k: string]: unknown }, def);
  return DefinedVoTask;
}

export class InvalidTaskClassError extends DiracxError {}

/** True when `value` is a concrete class deriving from Task. */
export function isTaskClass(value: unknown): value is TaskClass {
  return typeof value === "function" && value.prototype instanceof Task;
}

export function isPeriodicTaskClass(value: unknown): value is PeriodicTaskClass {
  return typeof value === "function" && value.prototype instanceof PeriodicTask;
}

export function isVoAwareTaskClass(value: unknown): value is PeriodicTaskClass {
  return typeof value === "function" && value.prototype instanceof PeriodicVoAwareTask;
}

/** The class of a task instance, typed by its statics. */
export function classOf(task: Task<object, DependencySpec>): TaskClass {
  return task.constructor as TaskClass;
}

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
  schedule(task: AnyTask, opts?: SubmitOptions): Promise<string>;
  /** Fan-out/fan-in: children in their own queues, `callback` once after every child finished (fanout.ts). */
  spawnWithCallback(children: readonly AnyTask[], callback: AnyTask, opts?: SpawnOptions): Promise<FanoutHandle>;
  /** In a fan-out callback: every child's outcome (result or error), in spawn order; [] elsewhere. */
  childOutcomes(): Promise<ChildOutcome[]>;
}

/** Any task instance, whatever its args and dependencies. */
export type AnyTask = Task<object, DependencySpec>;

/** The part of the producer that `task.schedule()` needs; the Producer implements it. */
export interface TaskSubmitter {
  submitInstance(task: AnyTask, opts?: SubmitOptions): Promise<string>;
  /** Fan-out/fan-in (src/engine/fanout.ts). */
  spawnWithCallback?(children: readonly AnyTask[], callback: AnyTask, opts?: SpawnOptions): Promise<FanoutHandle>;
}

/** The producer submissions go through here, and the task they run inside (their parent), if any. */
export interface ProducerBinding {
  submitter: TaskSubmitter;
  parentTaskId?: string;
}
type Binding = ProducerBinding;

/**
 * The one submission path of a task, whether it is called as `task.schedule()` or
 * `ctx.schedule(task)`: through the bound producer, naming the task it runs inside as parent
 * (an explicit `opts.parentTaskId` wins). The trace context travels the same way: the producer
 * reads the active span (observability/tracing.ts), which follows the same async context.
 */
export function submitTask(binding: ProducerBinding, task: AnyTask, opts: SubmitOptions = {}): Promise<string> {
  const { submitter, parentTaskId } = binding;
  return submitter.submitInstance(task, parentTaskId ? { parentTaskId, ...opts } : opts);
}

const storage = new AsyncLocalStorage<Binding>();
let defaultSubmitter: TaskSubmitter | undefined;

export class ProducerNotBoundError extends DiracxError {}

/**
 * Runs `fn` with `submitter` bound, so `task.schedule()` inside it uses it (and records
 * `parentTaskId` if given). It rides on AsyncLocalStorage, which Node 24 implements with
 * async context frames (no async hooks, no per-promise cost); the worker runs every attempt's
 * `execute` inside one (`runInBinding`), so `task.schedule()` in a task records its parent.
 */
export function withProducer<T>(submitter: TaskSubmitter, fn: () => T, parentTaskId?: string): T {
  return storage.run({ submitter, ...(parentTaskId ? { parentTaskId } : {}) }, fn);
}

/** Runs `fn` with `binding` bound (the worker, around a task's execute). */
export function runInBinding<T>(binding: ProducerBinding, fn: () => T): T {
  return storage.run(binding, fn);
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
