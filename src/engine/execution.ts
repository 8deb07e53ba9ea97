import type { Logger } from "pino";
import { DiracxError } from "../errors.ts";
import type { TaskContext } from "./context.ts";
import { withProducer } from "./context.ts";
import { spawnWithCallbackHere, type ChildOutcome } from "./fanout.ts";
import type { Limits } from "../config/tasks-config.ts";
import { ConcurrencyLimiter, LockLostError, type HeldLocks, type Lock, type LockManager, RateLimiter } from "../locks/index.ts";
import type { DependencySpec, UnitOfWork } from "../db/unit-of-work.ts";
import type { LimitsResolver, OpenUnitOfWork } from "./ports.ts";
import { DEFAULT_TIMEOUT_MS } from "./priorities.ts";
import type { SubmitOptions, TaskSubmitter } from "./producer-types.ts";
import { TaskTimeoutError } from "./retry.ts";
import type { Task, TaskClass } from "./task.ts";

/** The worker is shutting down; the attempt is put back, not counted. */
export class ShutdownAbort extends DiracxError {}

export interface AttemptInput {
  /** `<category>:<Class>` */
  id: string;
  cls: TaskClass;
  args: Record<string, unknown>;
  taskId: string;
  attempt: number;
  logger: Logger;
  submitter: TaskSubmitter;
  openUnitOfWork: OpenUnitOfWork;
  lockManager: LockManager | undefined;
  lockOwner: string;
  lockTtlMs: number;
  /** Interactive runs skip limiters but keep structural locks. */
  skipLimiters: boolean;
  limitsFor?: LimitsResolver;
  /** Aborted by the worker on shutdown deadline. */
  shutdownSignal?: AbortSignal;
  /** Called right before execute (the `call --debugger before` hook). */
  beforeExecute?: () => void | Promise<void>;
  /** Set by the worker for fan-out callbacks (fanout.ts). */
  childOutcomes?: () => Promise<ChildOutcome[]>;
}

export type AttemptOutcome =
  | { kind: "completed"; value: unknown; durationMs: number }
  | { kind: "deferred"; blockedBy: string; durationMs: number }
  | { kind: "failed"; error: unknown; durationMs: number }
  | { kind: "requeue"; durationMs: number };

/** Effective timeout of an attempt: the class's own, else its size's default. */
export function timeoutOf(cls: TaskClass): number {
  return cls.timeoutMs ?? DEFAULT_TIMEOUT_MS[cls.size];
}

/** A configured copy of a limiter (the task's own lock objects stay untouched). */
function applyLimits(lock: Lock, limits: Limits | undefined): Lock {
  if (!limits) return lock;
  if (lock instanceof RateLimiter && limits.rate) return lock.withLimit(limits.rate);
  if (lock instanceof ConcurrencyLimiter && limits.concurrency) return lock.withLimit(limits.concurrency);
  return lock;
}

/**
 * One attempt of a task: locks (all-or-nothing) → unit of work → execute with
 * a timeout → commit or roll back → release locks. Locks are released only
 * after the transactions ended (upstream released them before committing, and
 * committed the writes of failed tasks).
 */
export async function runAttempt(input: AttemptInput): Promise<AttemptOutcome> {
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  const { cls, logger } = input;
  const task = new (cls as unknown as new (a: Record<string, unknown>) => Task<object>)(input.args);
  const vo = typeof input.args.vo === "string" ? input.args.vo : undefined;
  const locks = task.locks().map((l) => applyLimits(l, input.limitsFor?.(input.id, vo, l)));

  let held: HeldLocks | undefined;
  // Disabled limiters (the default) cost nothing: no Redis round trip at all.
  const active = locks.filter((l) => l.enabled && !(input.skipLimiters && l.isLimiter));
  if (input.lockManager && active.length > 0) {
    // The holder is what `diracx-tasks locks list` shows an operator for each held lock.
    const res = await input.lockManager.acquireAll(active, input.lockOwner, input.lockTtlMs, {
      skipLimiters: input.skipLimiters,
      holder: { taskId: input.taskId, taskName: input.id },
    });
    if (!res.acquired) return { kind: "deferred", blockedBy: res.blockedBy, durationMs: elapsed() };
    held = res.held;
  }

  const controller = new AbortController();
  const lockLost = { lost: false, keys: [] as string[] };
  const onShutdown = (): void => controller.abort(new ShutdownAbort("worker shutting down"));
  if (input.shutdownSignal?.aborted) onShutdown();
  input.shutdownSignal?.addEventListener("abort", onShutdown, { once: true });
  const timeoutMs = timeoutOf(cls);
  const timer = setTimeout(() => controller.abort(new TaskTimeoutError(`task ${input.id} (${input.taskId}) timed out after ${timeoutMs} ms`)), timeoutMs);
  let extender: NodeJS.Timeout | undefined;
  if (held !== undefined && held.locks.length > 0 && input.lockManager) {
    const manager = input.lockManager;
    const h = held;
    extender = setInterval(() => {
      manager.extendAll(h, input.lockTtlMs).then(
        ({ lost }) => {
          if (lost.length === 0 || lockLost.lost) return;
          lockLost.lost = true;
          lockLost.keys = lost;
          logger.error({ lost }, "task lost its locks; aborting it");
          controller.abort(new LockLostError(lost));
        },
        (err: unknown) => logger.warn({ err }, "could not extend locks (will retry)"),
      );
    }, Math.max(50, Math.floor(input.lockTtlMs / 3)));
  }

  let uow: UnitOfWork<DependencySpec> | undefined;
  let outcome: AttemptOutcome;
  try {
    uow = await input.openUnitOfWork(cls.dependencies);
    const ctx: TaskContext = {
      deps: uow.deps,
      signal: controller.signal,
      logger,
      taskId: input.taskId,
      attempt: input.attempt,
      lockLost,
      schedule: (child: { schedule(opts?: SubmitOptions): Promise<string> }, opts?: SubmitOptions) => withProducer(input.submitter, () => child.schedule(opts), input.taskId),
      spawnWithCallback: (children, callback, opts) => withProducer(input.submitter, () => spawnWithCallbackHere(children, callback, opts), input.taskId),
      childOutcomes: input.childOutcomes ?? (async () => []),
    };
    await input.beforeExecute?.();
    const aborted = new Promise<never>((_, reject) => {
      if (controller.signal.aborted) reject(controller.signal.reason);
      controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
    });
    aborted.catch(() => {});
    // The task sees the abort through ctx.signal; we stop waiting for it at
    // once so a stuck task cannot hold the worker slot past its timeout.
    const value = await Promise.race([withProducer(input.submitter, () => task.execute(ctx as never), input.taskId), aborted]);
    await uow.commit();
    uow = undefined;
    outcome = { kind: "completed", value, durationMs: 0 };
  } catch (error) {
    if (uow) {
      await uow.rollback().catch((err: unknown) => logger.error({ err }, "rollback failed"));
    }
    outcome = error instanceof ShutdownAbort ? { kind: "requeue", durationMs: 0 } : { kind: "failed", error, durationMs: 0 };
  } finally {
    clearTimeout(timer);
    if (extender) clearInterval(extender);
    input.shutdownSignal?.removeEventListener("abort", onShutdown);
    if (held !== undefined && held.locks.length > 0 && input.lockManager) {
      await input.lockManager.releaseAll(held).catch((err: unknown) => logger.warn({ err }, "could not release locks; they expire by TTL"));
    }
  }
  outcome.durationMs = elapsed();
  return outcome;
}

/** Unit of work for tasks that declare no dependencies (and a clear error for those that do). */
export const openNoDependencies: OpenUnitOfWork = async (spec) => {
  const names = Object.keys(spec);
  if (names.length > 0) throw new DiracxError(`task declares dependencies (${names.join(", ")}) but no database layer is wired into this worker`);
  return { deps: {}, commit: async () => {}, rollback: async () => {} };
};
