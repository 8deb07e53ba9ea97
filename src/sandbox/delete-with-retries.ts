import { setTimeout as sleepFor } from "node:timers/promises";
import { logger as rootLogger, type Logger } from "../logging.ts";
import { chunked, mapConcurrent } from "./batching.ts";
import type { DeleteObjectsResult, FailedKey, SandboxStore } from "./store.ts";

export interface DeleteWithRetriesOptions {
  /** Tries per chunk, the first included. */
  attempts?: number;
  /** Wait before the second try; it doubles before each further try. */
  baseDelayMs?: number;
  /** Keys per chunk; each chunk is retried on its own timeline. */
  chunkSize?: number;
  /** Chunks in flight at once. */
  concurrency?: number;
  /** How to wait between tries; tests pass one that returns at once. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Stops the retry loop (the running task was aborted); rejects with the abort reason. */
  signal?: AbortSignal;
  logger?: Logger;
}

export const DELETE_RETRY_DEFAULTS = { attempts: 5, baseDelayMs: 1000, chunkSize: 1000, concurrency: 10 } as const;

const defaultSleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
  await sleepFor(ms, undefined, signal ? { signal } : undefined);
};

/**
 * Deletes `keys` from the store, retrying ONLY the keys that failed, with a doubling delay.
 * A key still failing after the last try (or failing with `retryable: false`) is reported
 * in `failed` with its last error, so the caller keeps its database row for the next run
 * instead of forgetting a file that still exists.
 */
export async function deleteWithRetries(store: SandboxStore, keys: readonly string[], opts: DeleteWithRetriesOptions = {}): Promise<DeleteObjectsResult> {
  const attempts = opts.attempts ?? DELETE_RETRY_DEFAULTS.attempts;
  const baseDelayMs = opts.baseDelayMs ?? DELETE_RETRY_DEFAULTS.baseDelayMs;
  const sleep = opts.sleep ?? defaultSleep;
  const log = (opts.logger ?? rootLogger).child({ store: store.description });
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`attempts must be a positive integer, got ${attempts}`);

  const unique = [...new Set(keys)];
  const perChunk = await mapConcurrent(chunked(unique, opts.chunkSize ?? DELETE_RETRY_DEFAULTS.chunkSize), opts.concurrency ?? DELETE_RETRY_DEFAULTS.concurrency, async (chunk) => {
    const deleted: string[] = [];
    // Failures that are final: non-retryable ones from any round, then whatever the last round left.
    const failed: FailedKey[] = [];
    let pending = chunk;
    for (let attempt = 1; pending.length > 0; attempt++) {
      opts.signal?.throwIfAborted();
      const result = await store.deleteObjects(pending);
      deleted.push(...result.deleted);
      const retry = result.failed.filter((f) => f.retryable !== false);
      failed.push(...result.failed.filter((f) => f.retryable === false));
      if (retry.length === 0) break;
      if (attempt >= attempts) {
        failed.push(...retry);
        break;
      }
      const delayMs = baseDelayMs * 2 ** (attempt - 1);
      log.warn({ failed: retry.length, attempt, delayMs, example: retry[0] }, "sandbox delete: retrying the failed keys");
      pending = retry.map((f) => f.key);
      await sleep(delayMs, opts.signal);
    }
    return { deleted, failed };
  });
  const result = { deleted: perChunk.flatMap((r) => r.deleted), failed: perChunk.flatMap((r) => r.failed) };
  if (result.failed.length > 0) log.error({ failed: result.failed.length, example: result.failed[0] }, "sandbox delete: keys still failing after retries");
  return result;
}
