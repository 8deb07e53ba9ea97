/**
 * The one module that knows the engine's Redis key names. BullMQ owns the keys
 * under `<BULL_PREFIX>:tasks-<size>:*`; everything else the engine writes lives
 * under `diracx:engine:*`.
 */
export const BULL_PREFIX = "diracx";

/** Default broker URL, overridable through DIRACX_TASKS_REDIS_URL. */
export const DEFAULT_REDIS_URL = "redis://localhost:6379";

export function redisUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.DIRACX_TASKS_REDIS_URL || DEFAULT_REDIS_URL;
}

/** Owner id of the locks one attempt holds: unique per job and per attempt start. */
export function lockOwnerId(jobId: string, token: string): string {
  return `task:${jobId}:${token}`;
}

/**
 * Dead-letter outbox (src/engine/dead-letter.ts): a hash of entries not yet
 * committed to TaskDB, so a final failure survives a database outage and a
 * worker restart.
 */
export const DLQ_OUTBOX_KEY = "diracx:engine:dlq-outbox";
