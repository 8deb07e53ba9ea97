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
    /** Whether the blocker is a rate limiter, for which `retryAfterMs` is exact rather than worst-case. */
    readonly rateLimited: boolean,
    /** Rate limiter: when the next permit frees. Other locks: when their holders expire at the latest. */
    readonly retryAfterMs: number,
  ) {
    super(rateLimited ? `rate limit ${blockedBy} is exhausted for ${retryAfterMs} ms` : `lock ${blockedBy} is held or its limit is reached`);
  }

  /** No point retrying before this: only known for a rate limiter, holders may release early. */
  get notBeforeMs(): number {
    return this.rateLimited ? this.retryAfterMs : 0;
  }
}

/** A held lock expired or was force-released while its task ran; the task is told through its AbortSignal. */
export class LockLostError extends DiracxError {
  constructor(readonly lost: readonly string[]) {
    super(`lost lock${lost.length === 1 ? "" : "s"} ${lost.join(", ")} while the task was running`);
  }
}
