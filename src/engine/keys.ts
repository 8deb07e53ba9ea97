// Key names come from the one key builder (src/redis-keys.ts); the engine's modules import them here.
export { BULL_PREFIX, DLQ_OUTBOX_KEY } from "../redis-keys.ts";

/** Default broker URL, overridable through DIRACX_TASKS_REDIS_URL. */
export const DEFAULT_REDIS_URL = "redis://localhost:6379";

export function redisUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.DIRACX_TASKS_REDIS_URL || DEFAULT_REDIS_URL;
}

/** Owner id of the locks one attempt holds: unique per job and per attempt start. */
export function lockOwnerId(jobId: string, token: string): string {
  return `task:${jobId}:${token}`;
}
