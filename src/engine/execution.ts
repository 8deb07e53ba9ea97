import type { Logger } from "pino";
import { DiracxError } from "../errors.ts";
import type { ChildOutcome, FanoutHandle, SpawnOptions } from "./fanout-types.ts";
import { LockLostError, type HeldLocks, type Lock, type LockManager } from "../locks/index.ts";
import type { DependencySpec, UnitOfWork } from "../db/unit-of-work.ts";
import type { LimitsResolver, OpenUnitOfWork } from "./ports.ts";
import { DEFAULT_TIMEOUT_MS } from "./priorities.ts";
import type { SubmitOptions } from "./producer-types.ts";
import { TaskTimeoutError } from "./retry.ts";
import { fixedDelayTimers } from "./timer-queue.ts";
import { runInBinding, submitTask, type AnyTask, type ProducerBinding, type Task, type TaskClass, type TaskContext, type TaskSubmitter } from "./task.ts";

/** The worker is shutting down; the attempt is put back, not counted. */
export class ShutdownAbort extends DiracxError {}

export interface AttemptInput {
  /** `<category>:<Class>` */
  id: string;
  cls: TaskClass;
  args: Record<string, unknown>;
  taskId: string;
  attempt: number;
  /** The attempt's logger; called only when something is logged (a pino child costs as much as a line). */
  logger: () => Logger;
  submitter: TaskSubmitter;
  openUnitOfWork: OpenUnitOfWork;
  lockManager: LockManager | undefined;
  lockOwner: string;
  lockTtlMs: number;
  /** Interactive runs skip limiters but keep structural locks. */
  skipLimiters: boolean;
  /** Adds the tasks configuration's limiters to what the task's `locks()` returns (limits.ts). */
  limitsFor?: LimitsResolver;
  /** The worker's running attempts, aborted together at its shutdown deadline. */
  running?: RunningAttempts;
  /**
   * Sends the lock release instead of waiting for its reply (the worker): `send` writes it, before
   * the attempt's outcome is reported; on the same connection Redis applies it first. `send`
   * never throws nor rejects: a failed release is logged by it (the locks expire by TTL).
   */
  deferRelease?: (send: () => Promise<unknown>) => void;
  /** Called right before execute (the `call --debugger before` hook). */
  beforeExecute?: () => void | Promise<void>;
  /** Set by the worker for fan-out callbacks (fanout.ts). */
  childOutcomes?: () => Promise<ChildOutcome[]>;
}

/**
 * What happened in an attempt; the outcome step (outcome.ts) decides what it means. A failure
 * in phase `prepare` came from building the task or its lock list, before anything ran.
 */
export type AttemptOutcome =
  | { kind: "completed"; value: unknown; durationMs: number }
  | { kind: "deferred"; blockedBy: string; rateLimited: boolean; retryAfterMs: number; durationMs: number }
  | { kind: "failed"; error: unknown; phase: "prepare" | "run"; durationMs: number }
  | { kind: "requeue"; durationMs: number };

/** Effective timeout of an attempt: the class's own, else its size's default. */
export function timeoutOf(cls: TaskClass): number {
  return cls.timeoutMs ?? DEFAULT_TIMEOUT_MS[cls.size];
}

type Abort = (reason: Error) => void;

/**
 * The attempts a worker is running, so its shutdown deadline can abort them
 * all (a Set rather than one listener per attempt on a shared AbortSignal).
 */
export class RunningAttempts {
  private readonly aborts = new Set<Abort>();
  private reason: Error | undefined;

  add(abort: Abort): void {
    if (this.reason) abort(this.reason);
    else this.aborts.add(abort);
  }

  delete(abort: Abort): void {
    this.aborts.delete(abort);
  }

  /** Aborts every running attempt, and any attempt added from now on. */
  abortAll(reason: Error): void {
    this.reason = reason;
    for (const abort of this.aborts) abort(reason);
    this.aborts.clear();
  }
}

const NOT_LOST: TaskContext["lockLost"] = Object.freeze({ lost: false, keys: Object.freeze([]) as readonly string[] });

function hasDependencies(spec: DependencySpec): boolean {
  for (const _ in spec) return true;
  return false;
}

/**
 * How an attempt is stopped early (timeout, lost lock, worker shutdown). The
 * AbortController behind `ctx.signal` is only created if the task reads it.
 */
class AttemptAbort {
  reason: Error | undefined;
  private controller: AbortController | undefined;
  private rejectWait: ((reason: Error) => void) | undefined;
  readonly abort: Abort = (reason) => {
    if (this.reason) return;
    this.reason = reason;
    this.controller?.abort(reason);
    this.rejectWait?.(reason);
  };

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.reason) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Waits for `work`, or rejects as soon as the attempt is aborted (a stuck task cannot hold its slot). */
  race<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.reason) return reject(this.reason);
      this.rejectWait = reject;
      work.then(resolve, reject);
    });
  }
}

/** The `ctx` of one attempt; the logger child and the abort signal are made on first use. */
class AttemptContext implements TaskContext {
  deps: TaskContext["deps"] = {};
  lockLost: TaskContext["lockLost"] = NOT_LOST;
  private log: Logger | undefined;
  constructor(
    private readonly input: AttemptInput,
    private readonly aborter: AttemptAbort,
  ) {}

  get signal(): AbortSignal {
    return this.aborter.signal;
  }
  get logger(): Logger {
    return (this.log ??= this.input.logger());
  }
  get taskId(): string {
    return this.input.taskId;
  }
  get attempt(): number {
    return this.input.attempt;
  }
  /** The attempt's producer binding: `ctx.schedule()` and `task.schedule()` inside execute share it. */
  get binding(): ProducerBinding {
    return (this.bound ??= { submitter: this.input.submitter, parentTaskId: this.input.taskId });
  }
  private bound: ProducerBinding | undefined;
  schedule(child: AnyTask, opts?: SubmitOptions): Promise<string> {
    return submitTask(this.binding, child, opts);
  }
  spawnWithCallback(children: readonly AnyTask[], callback: AnyTask, opts?: SpawnOptions): Promise<FanoutHandle> {
    const { submitter } = this.input;
    if (!submitter.spawnWithCallback) return Promise.reject(new DiracxError("ctx.spawnWithCallback: this run's producer cannot submit fan-out groups (use a Producer)"));
    return submitter.spawnWithCallback(children, callback, { parentTaskId: this.input.taskId, ...opts });
  }
  childOutcomes(): Promise<ChildOutcome[]> {
    return this.input.childOutcomes ? this.input.childOutcomes() : Promise.resolve([]);
  }
}

/**
 * One attempt of a task: locks (all-or-nothing) → unit of work → execute with
 * a timeout → commit or roll back → release locks. Locks are released only
 * after the transactions ended (upstream released them before committing, and
 * committed the writes of failed tasks). A task without dependencies opens no
 * unit of work, and one whose locks are all disabled limiters makes no Redis
 * call: the no-op path costs little more than BullMQ itself.
 */
export async function runAttempt(input: AttemptInput): Promise<AttemptOutcome> {
  const started = performance.now();
  const { cls } = input;
  let task: Task<object>;
  let active: Lock[] | undefined;
  try {
    task = new (cls as unknown as new (a: Record<string, unknown>) => Task<object>)(input.args);
    const declared = task.locks();
    const vo = typeof input.args.vo === "string" ? input.args.vo : undefined;
    for (const lock of input.limitsFor ? input.limitsFor(input.id, vo, declared) : declared) {
      // Disabled limiters (the default) cost nothing: no Redis round trip at all.
      if (lock.enabled && !(input.skipLimiters && lock.isLimiter)) (active ??= []).push(lock);
    }
  } catch (error) {
    // Told like any failure (logged, recorded, dead-lettered if eligible), not thrown past the outcome step.
    return { kind: "failed", error, phase: "prepare", durationMs: performance.now() - started };
  }

  let held: HeldLocks | undefined;
  const manager = input.lockManager;
  if (manager && active) {
    try {
      // The holder is what `diracx-tasks locks list` shows an operator for each held lock.
      const res = await manager.acquireAll(active, input.lockOwner, input.lockTtlMs, {
        skipLimiters: input.skipLimiters,
        holder: { taskId: input.taskId, taskName: input.id },
      });
      if (!res.acquired) {
        return { kind: "deferred", blockedBy: res.blockedBy, rateLimited: res.lock.kind === "rate", retryAfterMs: res.retryAfterMs, durationMs: performance.now() - started };
      }
      if (res.held.locks.length > 0) held = res.held;
    } catch (error) {
      // A broker error: transient, so the retry policy decides.
      return { kind: "failed", error, phase: "run", durationMs: performance.now() - started };
    }
  }

  const aborter = new AttemptAbort();
  input.running?.add(aborter.abort);
  const timeoutMs = timeoutOf(cls);
  const clearDeadline = fixedDelayTimers(timeoutMs).set(() => aborter.abort(new TaskTimeoutError(`task ${input.id} (${input.taskId}) timed out after ${timeoutMs} ms`)));
  const ctx = new AttemptContext(input, aborter);
  const stopExtending = held && manager ? extendWhileRunning(manager, held, input, aborter, (lost) => (ctx.lockLost = lost)) : undefined;

  let uow: UnitOfWork<DependencySpec> | undefined;
  let outcome: AttemptOutcome;
  try {
    if (hasDependencies(cls.dependencies)) {
      uow = await input.openUnitOfWork(cls.dependencies);
      ctx.deps = uow.deps;
    }
    if (input.beforeExecute) await input.beforeExecute();
    // Bound like ctx.schedule(): `task.schedule()` inside the task records it as parent (lineage).
    const value = await aborter.race(runInBinding(ctx.binding, () => task.execute(ctx as never)));
    if (uow) {
      const committing = uow;
      uow = undefined;
      await committing.commit();
    }
    outcome = { kind: "completed", value, durationMs: 0 };
  } catch (error) {
    if (uow) {
      await uow.rollback().catch((err: unknown) => input.logger().error({ err }, "rollback failed"));
    }
    outcome = error instanceof ShutdownAbort ? { kind: "requeue", durationMs: 0 } : { kind: "failed", error, phase: "run", durationMs: 0 };
  } finally {
    clearDeadline();
    stopExtending?.();
    input.running?.delete(aborter.abort);
    if (held && manager) {
      const locks = held;
      const send = () => manager.releaseAll(locks).catch((err: unknown) => input.logger().warn({ err }, "could not release locks; they expire by TTL"));
      if (input.deferRelease) input.deferRelease(send);
      else await send();
    }
  }
  outcome.durationMs = performance.now() - started;
  return outcome;
}

/** Extends held locks every third of their TTL; a lost lock aborts the attempt. Returns the stop. */
function extendWhileRunning(
  manager: LockManager,
  held: HeldLocks,
  input: AttemptInput,
  aborter: AttemptAbort,
  onLost: (lost: TaskContext["lockLost"]) => void,
): () => void {
  let lost = false;
  const timers = fixedDelayTimers(Math.max(50, Math.floor(input.lockTtlMs / 3)));
  const extend = (): void => {
    cancel = timers.set(extend);
    manager.extendAll(held, input.lockTtlMs).then(
      (res) => {
        if (res.lost.length === 0 || lost) return;
        lost = true;
        onLost(Object.freeze({ lost: true, keys: Object.freeze(res.lost) }));
        input.logger().error({ lost: res.lost }, "task lost its locks; aborting it");
        aborter.abort(new LockLostError(res.lost));
      },
      (err: unknown) => input.logger().warn({ err }, "could not extend locks (will retry)"),
    );
  };
  let cancel = timers.set(extend);
  return () => cancel();
}

/** Unit of work for tasks that declare no dependencies (and a clear error for those that do). */
export const openNoDependencies: OpenUnitOfWork = async (spec) => {
  const names = Object.keys(spec);
  if (names.length > 0) throw new DiracxError(`task declares dependencies (${names.join(", ")}) but no database layer is wired into this worker`);
  return { deps: {}, commit: async () => {}, rollback: async () => {} };
};
