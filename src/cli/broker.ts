import { createBrokerClient } from "../redis-cluster.ts";
import { DiracxError } from "../errors.ts";
import { createEngine, type Engine, type EngineOptions } from "../engine/wiring.ts";
import { redisUrlFromEnv } from "../engine/keys.ts";

/** Masks the password of a URL for messages (never print a secret). */
export function maskUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");
}

/**
 * Fails fast when Redis is unreachable: the engine's connections wait for a reconnect
 * forever (right for a worker), but an operator command must report, not hang.
 */
export async function assertBrokerReachable(url: string = redisUrlFromEnv()): Promise<void> {
  const probe = createBrokerClient(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on("error", () => undefined);
  try {
    await probe.connect();
  } catch (err) {
    throw new DiracxError(`cannot connect to Redis at ${maskUrl(url)} (DIRACX_TASKS_REDIS_URL): ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    probe.disconnect();
  }
}

/** An engine for one command: broker checked first, always closed. */
export async function withEngine<T>(fn: (engine: Engine) => Promise<T>, opts: EngineOptions = {}): Promise<T> {
  await assertBrokerReachable(opts.redisUrl);
  const engine = await createEngine(opts);
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}
