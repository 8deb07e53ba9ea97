// One mapping from what went wrong to what an HTTP client sees: DiracX's `{"detail": …}` bodies,
// 503 + Retry-After for an unreachable database, 422 for a request that fails its schema.
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { DBUnavailableError, InvalidQueryError, NotFoundError } from "../db/errors.ts";
import { DiracxError } from "../errors.ts";
import { JdlSyntaxError } from "../logic/jobs/jdl.ts";
import { InvalidTaskArgsError, PayloadTooLargeError } from "../engine/producer.ts";
import { UnknownTaskError } from "../engine/task-registry.ts";
import { JobSubmissionError } from "../logic/jobs/submission.ts";
import { LockDefinitionError } from "../locks/errors.ts";

/** How long a client should wait before retrying after a 503 (DiracX sends 10 s too). */
export const RETRY_AFTER_SECONDS = 10;

/** An error a handler, hook or policy raises to answer with `status` and `{"detail": detail}`. */
export class HttpError extends DiracxError {
  constructor(
    readonly status: number,
    readonly detail: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
}

/** The server cannot start: a router, its dependencies or the auth settings are wrong. */
export class HttpSetupError extends DiracxError {}

export interface ErrorResponse {
  status: number;
  body: { detail: unknown };
  headers: Record<string, string>;
  /** Whether the server should log it as its own failure (5xx other than an unreachable DB). */
  internal: boolean;
}

function causeChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = err; e && out.length < 8; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

/** What the client receives for `err`. */
export function errorResponse(err: unknown): ErrorResponse {
  const answer = (status: number, detail: unknown, headers: Record<string, string> = {}, internal = false): ErrorResponse => ({ status, body: { detail }, headers, internal });
  // Whoever raises an HttpError has logged what it needs to.
  if (err instanceof HttpError) return answer(err.status, err.detail, { ...err.headers });
  if (hasZodFastifySchemaValidationErrors(err)) {
    return answer(
      422,
      err.validation.map((v) => ({ loc: [err.validationContext ?? "body", ...v.instancePath.split("/").filter(Boolean)], msg: v.message ?? "invalid", type: v.keyword })),
    );
  }
  const chain = causeChain(err);
  if (chain.some((e) => e instanceof DBUnavailableError)) {
    return answer(503, (chain.find((e) => e instanceof DBUnavailableError) as Error).message, { "Retry-After": String(RETRY_AFTER_SECONDS) });
  }
  // Arguments over DIRACX_TASKS_MAX_PAYLOAD_BYTES (README "Bounded payloads"): 413, the line names the size and the bound.
  if (err instanceof PayloadTooLargeError) return answer(413, err.message);
  if (err instanceof JdlSyntaxError || err instanceof InvalidQueryError || err instanceof InvalidTaskArgsError || err instanceof JobSubmissionError || err instanceof LockDefinitionError) return answer(400, err.message);
  if (err instanceof NotFoundError || err instanceof UnknownTaskError) return answer(404, err.message);
  const e = err as { statusCode?: unknown; message?: unknown };
  if (e.statusCode === 413) return answer(413, `request body too large: ${String(e.message)} (the bound follows DIRACX_TASKS_MAX_PAYLOAD_BYTES)`);
  // Fastify's own client errors (bad JSON, unsupported media type, body too large…).
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) return answer(e.statusCode, String(e.message));
  return answer(500, "Internal server error", {}, true);
}

/**
 * Fastify's body limit: a request may carry arguments up to the payload bound plus its own
 * fields (task id, labels); larger arguments then get the producer's 413 line naming the bound.
 */
export function bodyLimitFor(maxPayloadBytes: number): number {
  return Math.max(1024 * 1024, maxPayloadBytes + 64 * 1024);
}
