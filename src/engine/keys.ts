// Key names come from the one key builder (src/redis-keys.ts); the engine's modules import them here.
// The broker URL is a setting (TasksSettings.redisUrl), read at wiring and passed down.
export { BULL_PREFIX, DLQ_OUTBOX_KEY } from "../redis-keys.ts";

/** Owner id of the locks one attempt holds: unique per job and per attempt start. */
export function lockOwnerId(jobId: string, token: string): string {
  return `task:${jobId}:${token}`;
}
