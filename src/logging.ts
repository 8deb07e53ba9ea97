import { pino, type Logger } from "pino";
import { traceLogFields } from "./observability/tracing.ts";

function makeLogger(): Logger {
  const level = process.env.DIRACX_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? "warn" : "info");
  // JSON in production; pretty when a person is watching a terminal.
  const pretty = process.env.DIRACX_LOG_FORMAT === "pretty" || (process.env.DIRACX_LOG_FORMAT !== "json" && process.stderr.isTTY);
  if (pretty) {
    return pino({ level, mixin: traceLogFields, transport: { target: "pino-pretty", options: { destination: 2, translateTime: "SYS:HH:MM:ss.l" } } });
  }
  // Asynchronous writes: lines logged while a write is in flight go out together in
  // the next one, and a slow log reader never blocks the event loop (which would
  // delay job-lock renewals). Pino flushes the buffer when the process exits; past
  // 16 MiB of unwritten lines (a reader stuck for good) new lines are dropped
  // rather than growing the heap. DIRACX_LOG_SYNC=1 writes every line at once.
  const sync = process.env.DIRACX_LOG_SYNC === "1";
  // trace_id / span_id of the active span, when tracing is on (an empty object otherwise).
  return pino({ level, mixin: traceLogFields }, pino.destination({ dest: 2, sync, ...(sync ? {} : { maxLength: 16 * 1024 * 1024 }) }));
}

/** The process-wide logger, set up once. Scope it with `logger.child({...})`. */
export const logger: Logger = makeLogger();
export type { Logger };
