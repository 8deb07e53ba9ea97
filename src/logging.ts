import fs from "node:fs";
import { pino, type DestinationStream, type Logger } from "pino";
import { z } from "zod";
import { defineSettings, SettingsError, type Env } from "./settings.ts";

/**
 * Extra fields of every log line (tracing sets trace_id / span_id here when it is enabled), so
 * logging needs no import of the tracing module, which sits above it.
 */
let extraFields: (() => Record<string, string>) | undefined;
export function setLogFields(fn: (() => Record<string, string>) | undefined): void {
  extraFields = fn;
}
function logFields(): Record<string, string> {
  return extraFields?.() ?? {};
}

const LEVEL_NAMES: string[] = [...Object.keys(pino.levels.values), "silent"];
const LEVELS = LEVEL_NAMES as [string, ...string[]];

/** How the process logs (`DIRACX_LOG_*`): read once, when the process-wide logger is made. */
export class LogSettings extends defineSettings(
  "DIRACX_LOG_",
  z.object({
    /** pino level (default info; warn under the test runner). */
    level: z.enum(LEVELS, { error: (iss) => `unknown level '${String(iss.input)}' (known: ${LEVELS.join(", ")})` }).optional(),
    /** `json`, or `pretty` (the default on a terminal). */
    format: z.enum(["json", "pretty"], { error: (iss) => `unknown format '${String(iss.input)}' (known: json, pretty)` }).optional(),
    /** Write each line at once instead of batching per event-loop turn. */
    sync: z.boolean().default(false),
  }),
) {}

/** The logging settings, or the one line naming the bad variable. */
function readLogSettings(env: Env): { settings: LogSettings; problem?: undefined } | { settings?: undefined; problem: string } {
  // An empty variable is as good as unset (`DIRACX_LOG_LEVEL= diracx-tasks …`).
  const set = Object.fromEntries(Object.entries(env).filter(([k, v]) => !k.startsWith("DIRACX_LOG_") || v !== ""));
  try {
    return { settings: LogSettings.fromEnv(set) };
  } catch (err) {
    if (err instanceof SettingsError) return { problem: err.message };
    throw err;
  }
}

const fromProcess = readLogSettings(process.env);

/**
 * One line naming a bad DIRACX_LOG_* variable (the CLI prints it and exits 1 before anything
 * else); undefined when they are fine. The process-wide logger was made from the same reading.
 */
export function logSettingsProblem(env?: Env): string | undefined {
  return env === undefined ? fromProcess.problem : readLogSettings(env).problem;
}

/** Past this many unwritten bytes (a reader stuck for good) new lines are dropped rather than growing the heap. */
const MAX_BUFFERED = 16 * 1024 * 1024;
/** How long an exit flush keeps retrying a full pipe (EAGAIN) before it drops what is left. */
const EXIT_FLUSH_RETRIES = 200;

/**
 * The log destination: standard error, written in batches once per event-loop turn (a slow
 * reader never blocks the event loop, which would delay job-lock renewals), or line by line
 * with DIRACX_LOG_SYNC=1.
 *
 * Written here rather than with pino.destination because sonic-boom's exit flush retries a
 * broken pipe (EPIPE) forever: `diracx-tasks … 2>&1 | true` hung at exit. Here a broken pipe
 * or any other write error ends logging: later lines are dropped and counted.
 */
export class StderrDestination implements DestinationStream {
  #dropped = 0;
  #broken = false;
  #pending: string[] = [];
  #pendingBytes = 0;
  #timer: NodeJS.Immediate | NodeJS.Timeout | undefined;

  private readonly fd: number;
  private readonly sync: boolean;

  // No parameter properties: this module loads under Node's own type stripping too (tests run it so).
  constructor(fd = 2, sync = false) {
    this.fd = fd;
    this.sync = sync;
  }

  /** Lines not written: after a broken pipe, or past the buffer bound. */
  get dropped(): number {
    return this.#dropped;
  }

  get broken(): boolean {
    return this.#broken;
  }

  write(line: string): boolean {
    if (this.#broken) {
      this.#dropped += 1;
      return true;
    }
    if (this.sync) {
      this.#writeSync(line);
      return true;
    }
    if (this.#pendingBytes + line.length > MAX_BUFFERED) {
      this.#dropped += 1;
      return true;
    }
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    this.#schedule(0);
    return true;
  }

  /** Called by the process-exit hook: writes what is buffered now, never waiting on a gone reader. */
  flushSync(): void {
    if (this.#broken) return;
    const rest = this.#take();
    if (rest) this.#writeSync(rest, EXIT_FLUSH_RETRIES);
  }

  #take(): string {
    const text = this.#pending.join("");
    this.#pending = [];
    this.#pendingBytes = 0;
    return text;
  }

  #schedule(delayMs: number): void {
    if (this.#timer) return;
    const run = (): void => {
      this.#timer = undefined;
      this.#drain();
    };
    this.#timer = delayMs === 0 ? setImmediate(run) : setTimeout(run, delayMs);
    this.#timer.unref();
  }

  /**
   * Writes the batch without blocking: standard error is non-blocking when it is a pipe, so
   * a full pipe answers EAGAIN and the rest is tried again shortly. Nothing is ever "in flight",
   * so the exit flush writes each line once.
   */
  #drain(): void {
    if (this.#broken) return;
    let buf = Buffer.from(this.#take());
    while (buf.length > 0) {
      try {
        buf = buf.subarray(fs.writeSync(this.fd, buf));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EAGAIN") {
          const rest = buf.toString();
          this.#pending.unshift(rest);
          this.#pendingBytes += rest.length;
          this.#schedule(10);
          return;
        }
        this.#breakOff(buf.toString());
        return;
      }
    }
  }

  #writeSync(text: string, eagainRetries = EXIT_FLUSH_RETRIES): void {
    let buf = Buffer.from(text);
    let retries = eagainRetries;
    while (buf.length > 0) {
      try {
        buf = buf.subarray(fs.writeSync(this.fd, buf));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EAGAIN" && retries-- > 0) {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
          continue;
        }
        this.#breakOff(buf.toString());
        return;
      }
    }
  }

  #breakOff(unwritten: string): void {
    this.#broken = true;
    this.#dropped += countLines(unwritten) + this.#pending.reduce((n, l) => n + countLines(l), 0);
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i !== -1; i = s.indexOf("\n", i + 1)) n += 1;
  return Math.max(n, s ? 1 : 0);
}

/**
 * A reader of standard output that has gone (`diracx-tasks entrypoints --check | head -1`) ends
 * the output, not the command: later writes are dropped (their callbacks still run, so the exit
 * path that waits for stdout is not stuck) and the command finishes with its own status, instead
 * of dying on an unhandled EPIPE with a stack trace. Any other write error is one line.
 */
export function tolerateClosedStdout(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    const dropped = ((_chunk: unknown, encOrCb?: unknown, cb?: unknown): boolean => {
      const done = typeof encOrCb === "function" ? encOrCb : cb;
      if (typeof done === "function") process.nextTick(done as () => void);
      return true;
    }) as typeof stream.write;
    stream.write = dropped;
    if (err.code === "EPIPE") return;
    process.stderr.write(`diracx-tasks: standard output: ${err.message}\n`);
    process.exitCode = 1;
  });
}

/** The destination of the process-wide logger when it writes JSON (undefined in pretty mode). */
export let logDestination: StderrDestination | undefined;

function makeLogger(): Logger {
  // A bad value never throws at import: the CLI reports it as one line (logSettingsProblem) and
  // exits 1, and so does createEngine for any other process that wires the engine.
  const settings = fromProcess.settings ?? LogSettings.fromEnv({});
  const level = settings.level ?? (process.env.NODE_TEST_CONTEXT ? "warn" : "info");
  // JSON in production; pretty when a person is watching a terminal.
  const pretty = settings.format === "pretty" || (settings.format === undefined && process.stderr.isTTY);
  if (pretty) {
    return pino({ level, mixin: logFields, transport: { target: "pino-pretty", options: { destination: 2, translateTime: "SYS:HH:MM:ss.l" } } });
  }
  const dest = new StderrDestination(2, settings.sync);
  logDestination = dest;
  process.once("exit", () => dest.flushSync());
  return pino({ level, mixin: logFields }, dest);
}

/**
 * A child that re-binds a key its parent already has replaces it instead of repeating it
 * (`{"component":"scheduler",…,"component":"broker-lifecycle"}`): set on the root, so every
 * descendant inherits it.
 */
function dedupeChildBindings(root: Logger): Logger {
  type Child = (this: Logger, bindings: pino.Bindings, options?: pino.ChildLoggerOptions) => Logger;
  const protoChild = root.child as unknown as Child;
  const child: Child = function (bindings, options) {
    const current = this.bindings();
    if (!Object.keys(bindings).some((k) => k in current)) return protoChild.call(this, bindings, options);
    return protoChild.call(root, { ...current, ...bindings }, { level: this.level, ...options });
  };
  (root as unknown as { child: Child }).child = child;
  return root;
}

/** The process-wide logger, set up once. Scope it with `logger.child({...})`. */
export const logger: Logger = dedupeChildBindings(makeLogger());
export type { Logger };
