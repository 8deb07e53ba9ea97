/**
 * Callbacks due a fixed delay after they are set, for what every attempt arms and nearly always
 * cancels (its timeout, its lock extension). Entries of one delay come due in the order they were
 * set, so one Node timer, armed for the earliest, serves them all: an attempt costs a Set
 * insertion and deletion instead of a Timeout object (Node's own timer lists are ordered the
 * same way, but each setTimeout allocates and tracks an async resource). While nothing is
 * pending the timer is unref'd rather than cleared, so it neither holds the process nor is made
 * again for the next entry.
 */
interface Entry {
  readonly at: number;
  readonly fn: () => void;
}

export class FixedDelayTimers {
  private readonly pending = new Set<Entry>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly delayMs: number,
    /** Told what a callback threw; by default it is thrown again, uncaught, as from a setTimeout callback. */
    private readonly onError: (err: unknown) => void = (err) =>
      queueMicrotask(() => {
        throw err;
      }),
  ) {}

  /** Calls `fn` after the delay unless the returned function is called first. */
  set(fn: () => void): () => void {
    const entry: Entry = { at: performance.now() + this.delayMs, fn };
    this.pending.add(entry);
    // An armed timer is due no later than this entry (it was armed for an earlier one).
    if (!this.timer) this.arm(this.delayMs);
    else if (this.pending.size === 1) this.timer.ref();
    return () => {
      if (this.pending.delete(entry) && this.pending.size === 0) this.timer?.unref();
    };
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(() => this.fire(), Math.max(0, delayMs));
  }

  private fire(): void {
    this.timer = undefined;
    const now = performance.now();
    // Entries set while firing (a callback re-arming itself) are due later, so the loop stops there.
    for (const entry of this.pending) {
      if (entry.at > now) return this.arm(entry.at - now);
      this.pending.delete(entry);
      try {
        entry.fn();
      } catch (err) {
        this.onError(err); // and the other entries still fire
      }
    }
  }
}

const byDelay = new Map<number, FixedDelayTimers>();

/** The process's timers of one delay. */
export function fixedDelayTimers(delayMs: number): FixedDelayTimers {
  let t = byDelay.get(delayMs);
  if (!t) byDelay.set(delayMs, (t = new FixedDelayTimers(delayMs)));
  return t;
}
