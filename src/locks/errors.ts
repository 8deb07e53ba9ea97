import { DiracxError } from "../errors.ts";

/** A lock or limiter was declared wrongly (bad key part, limit, TTL…). */
export class LockDefinitionError extends DiracxError {}

/**
 * Another holder (or an exhausted limiter) blocks one of a task's locks. Contention is not a
 * failure: the engine defers the task without counting an attempt (upstream counted it as success).
 */
export class LockContentionError extends DiracxError {
  constructor(
    readonly blockedBy: string,
    /** Worst-case wait before the blocker can clear (its holders' TTL or the oldest permit leaving the window). */
    readonly retryAfterMs: number | undefined,
  ) {
    super(`lock ${blockedBy} is held or its limit is reached`);
  }
}

/** A held lock expired or was force-released while its task ran; the task is told through its AbortSignal. */
export class LockLostError extends DiracxError {
  constructor(readonly lost: readonly string[]) {
    super(`lost lock${lost.length === 1 ? "" : "s"} ${lost.join(", ")} while the task was running`);
  }
}
