import { DiracxError } from "../errors.ts";

/** A lock or limiter was declared wrongly (bad key part, limit, TTL…). */
export class LockDefinitionError extends DiracxError {}

/** A held lock expired or was force-released while its task ran; the task is told through its AbortSignal. */
export class LockLostError extends DiracxError {
  constructor(readonly lost: readonly string[]) {
    super(`lost lock${lost.length === 1 ? "" : "s"} ${lost.join(", ")} while the task was running`);
  }
}
