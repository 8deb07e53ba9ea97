import { logger as rootLogger, type Logger } from "../logging.ts";
import { LockContentionError, LockLostError } from "./errors.ts";
import type { Lock } from "./lock.ts";
import type { LockHolder, LockManager } from "./manager.ts";

export const DEFAULT_LOCK_TTL_MS = 30_000;

export interface HoldLocksOptions {
  ownerId: string;
  /** Each hold lives this long unless extended; the watchdog extends it every third of it. */
  ttlMs?: number;
  skipLimiters?: boolean;
  holder?: LockHolder;
  /** Aborting it aborts the signal handed to `fn` as well. */
  signal?: AbortSignal;
  logger?: Logger;
}

/**
 * Runs `fn` while holding all of `locks`, and releases them only once `fn` has settled, so `fn`
 * must include the task's database commit or rollback (upstream released locks before commit).
 * Throws LockContentionError without calling `fn` if any lock is taken. A watchdog extends the
 * locks while `fn` runs; if one is lost, `fn`'s signal is aborted with a LockLostError (upstream
 * only logged it and let the task carry on unprotected).
 */
export async function withLocks<T>(manager: LockManager, locks: readonly Lock[], opts: HoldLocksOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ttlMs = opts.ttlMs ?? DEFAULT_LOCK_TTL_MS;
  const log = (opts.logger ?? rootLogger).child({ lockOwner: opts.ownerId });
  const result = await manager.acquireAll(locks, opts.ownerId, ttlMs, { skipLimiters: opts.skipLimiters, holder: opts.holder });
  if (!result.acquired) throw new LockContentionError(result.blockedBy, result.lock.kind === "rate", result.retryAfterMs);
  const { held } = result;

  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onOuterAbort();
  else opts.signal?.addEventListener("abort", onOuterAbort, { once: true });

  let timer: NodeJS.Timeout | undefined;
  let extending: Promise<void> = Promise.resolve();
  if (held.locks.some((l) => l.kind !== "rate")) {
    timer = setInterval(() => {
      extending = manager.extendAll(held, ttlMs).then(
        ({ lost }) => {
          if (lost.length === 0) return;
          clearInterval(timer);
          const err = new LockLostError(lost);
          log.error({ lost }, err.message);
          controller.abort(err);
        },
        // A transient Redis error is retried at the next tick; if the TTL runs out meanwhile,
        // that tick reports the loss.
        (err: unknown) => log.warn({ err }, "could not extend locks"),
      );
    }, Math.max(1, Math.floor(ttlMs / 3)));
  }

  try {
    return await fn(controller.signal);
  } finally {
    clearInterval(timer);
    opts.signal?.removeEventListener("abort", onOuterAbort);
    await extending;
    try {
      await manager.releaseAll(held);
    } catch (err) {
      // The holds expire by TTL anyway; failing the task for this would misreport its outcome.
      log.warn({ err }, "could not release locks; they will expire by TTL");
    }
  }
}

/**
 * Delay before retrying a task deferred by lock contention: exponential in the number of
 * consecutive deferrals with full jitter (so contenders spread out), capped, and never shorter
 * than `notBeforeMs`, even past the cap (LockContentionError.notBeforeMs; upstream retried forever every fixed 5 s).
 */
export function contentionDelayMs(deferrals: number, opts: { baseMs?: number; maxMs?: number; notBeforeMs?: number; random?: () => number } = {}): number {
  const base = opts.baseMs ?? 1_000;
  const max = opts.maxMs ?? 60_000;
  const ceiling = Math.min(max, base * 2 ** Math.min(Math.max(0, deferrals), 30));
  const jittered = Math.round(ceiling / 2 + (opts.random ?? Math.random)() * (ceiling / 2));
  return Math.max(Math.min(max, jittered), opts.notBeforeMs ?? 0);
}
