import { DiracxError } from "../errors.ts";

/** A key the store could not delete, with the store's reason. */
export interface FailedKey {
  key: string;
  error: string;
  /**
   * False when retrying cannot help (the key is malformed, or escapes the store); the
   * retry loop then reports it at once instead of spending its attempts on it.
   */
  retryable?: boolean;
}

export interface DeleteObjectsResult {
  /** Keys that are gone, including keys that were already absent: deletion is idempotent. */
  deleted: string[];
  failed: FailedKey[];
}

/**
 * Where sandbox files live (DiracX's "SandboxSE"). Production uses S3; local runs use a
 * directory. The cleaning task only needs `deleteObjects`; `putObject` and `exists` are
 * there for tests and the dev demo, which must create what the cleaner later removes.
 */
export interface SandboxStore {
  /** For log lines: `s3://bucket` or `dir:/path`. */
  readonly description: string;
  /** Deletes the keys; never rejects for a per-key problem, which is reported in `failed`. */
  deleteObjects(keys: readonly string[]): Promise<DeleteObjectsResult>;
  putObject(key: string, body: string | Uint8Array): Promise<void>;
  exists(key: string): Promise<boolean>;
  close(): Promise<void>;
}

/** A sandbox store cannot be opened or used as asked (bad key, bad settings, missing bucket). */
export class SandboxStoreError extends DiracxError {}

/** One line for an unknown thrown value, for `FailedKey.error` and log lines. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const prefix = err.name && err.name !== "Error" ? err.name : typeof code === "string" ? code : "";
    const message = err.message.split("\n")[0] ?? "";
    return prefix && !message.startsWith(prefix) ? `${prefix}: ${message}` : message || prefix || "unknown error";
  }
  return String(err);
}
