import { pino, type Logger } from "pino";

function makeLogger(): Logger {
  const level = process.env.DIRACX_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? "warn" : "info");
  // JSON in production; pretty when a person is watching a terminal.
  const pretty = process.env.DIRACX_LOG_FORMAT === "pretty" || (process.env.DIRACX_LOG_FORMAT !== "json" && process.stderr.isTTY);
  if (pretty) {
    return pino({ level, transport: { target: "pino-pretty", options: { destination: 2, translateTime: "SYS:HH:MM:ss.l" } } });
  }
  return pino({ level }, pino.destination(2));
}

/** The process-wide logger, set up once. Scope it with `logger.child({...})`. */
export const logger: Logger = makeLogger();
export type { Logger };
