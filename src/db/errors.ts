import { DiracxError } from "../errors.ts";

/**
 * The database could not be reached (connection refused, dropped, server shutting
 * down, embedded engine closed). Retryable: the same work may succeed later.
 */
export class DBUnavailableError extends DiracxError {
  readonly retryable = true;
}

/** A statement was rejected by the database (bad SQL, constraint violation…). Not retryable as is. */
export class DBQueryError extends DiracxError {
  /** The SQLSTATE code when the server gave one (e.g. `23505` for a unique violation). */
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
  get isUniqueViolation(): boolean {
    return this.code === "23505";
  }
  get isForeignKeyViolation(): boolean {
    return this.code === "23503";
  }
}

/** A DB is used without its URL, or with one we cannot understand. */
export class DBConfigurationError extends DiracxError {}

/** A caller asked for something the data does not allow (unknown column, empty update…). */
export class InvalidQueryError extends DiracxError {}

/** Lookups that found nothing where a row was required. */
export class NotFoundError extends DiracxError {}

/** An insert that would duplicate an existing logical record. */
export class AlreadyExistsError extends DiracxError {}

// Socket-level failures and SQLSTATE classes that mean "the server is not there (now)".
const UNAVAILABLE_SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH"]);
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);
const UNAVAILABLE_MESSAGES = [/connection terminated/i, /PGlite is closed/i, /PGLite not initialized/i, /timeout exceeded when trying to connect/i, /Connection terminated unexpectedly/i, /Client has encountered a connection error/i, /Cannot use a pool after calling end/i];

function errorCode(err: unknown): string | undefined {
  if (err && typeof err === "object" && "code" in err && typeof (err as { code: unknown }).code === "string") {
    return (err as { code: string }).code;
  }
  return undefined;
}

/**
 * Maps a driver error (pg or PGlite) to DBUnavailableError or DBQueryError, so
 * callers can retry the former and report the latter. `where` names the database
 * (URL without credentials) in the message.
 */
export function classifyDbError(err: unknown, where: string): Error {
  if (err instanceof DBUnavailableError || err instanceof DBQueryError) return err;
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const aggregate = err instanceof AggregateError ? err.errors.map(errorCode) : [];
  const unavailable =
    (code !== undefined && (UNAVAILABLE_SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith("08"))) ||
    aggregate.some((c) => c !== undefined && UNAVAILABLE_SOCKET_CODES.has(c)) ||
    UNAVAILABLE_MESSAGES.some((re) => re.test(message));
  if (unavailable) {
    return new DBUnavailableError(`database ${where} is unavailable: ${message || code}`, { cause: err });
  }
  return new DBQueryError(`query failed on ${where}: ${message}${code ? ` (SQLSTATE ${code})` : ""}`, code, { cause: err });
}
