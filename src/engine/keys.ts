// Key names come from the one key builder (src/redis-keys.ts); the engine's modules import them here.
import { TasksSettings } from "../settings.ts";

export { BULL_PREFIX, DLQ_OUTBOX_KEY } from "../redis-keys.ts";

/** The broker URL, DIRACX_TASKS_REDIS_URL through the task system's settings (refused there when malformed). */
export function redisUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return TasksSettings.fromEnv(env).redisUrl;
}

/** Owner id of the locks one attempt holds: unique per job and per attempt start. */
export function lockOwnerId(jobId: string, token: string): string {
  return `task:${jobId}:${token}`;
}
