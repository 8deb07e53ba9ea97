import type { BrokerConnection } from "../redis-cluster.ts";
import { assertBrokerReachable, connectBrokerOnce } from "../engine/connection.ts";
import { createEngine, type Engine, type EngineOptions } from "../engine/wiring.ts";
import type { CliContext } from "./context.ts";

/** Where a command's broker URL came from, for its error line. */
function sourceOf(flagUrl: string | undefined): string {
  return flagUrl ? "--redis-url" : "DIRACX_TASKS_REDIS_URL";
}

/**
 * An engine for one command: the broker is checked first (within
 * DIRACX_TASKS_CONNECT_TIMEOUT_SECONDS, one line naming the masked URL and the cause
 * otherwise — the engine's own connections wait for a reconnect forever, right for a worker,
 * but a command must report, not hang), and the engine is always closed. The settings are the
 * command runner's (read once, `ctx`).
 */
export async function withEngine<T>(ctx: CliContext, fn: (engine: Engine) => Promise<T>, opts: Omit<EngineOptions, "settings" | "env"> = {}): Promise<T> {
  await assertBrokerReachable(opts.redisUrl ?? ctx.tasks.redisUrl, { timeoutMs: ctx.connectTimeoutMs, source: sourceOf(opts.redisUrl) });
  const engine = await createEngine({ ...opts, settings: ctx.tasks, env: ctx.env });
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

/** A bounded broker connection for one command (`--redis-url` or DIRACX_TASKS_REDIS_URL), always closed. */
export async function withBroker<T>(ctx: CliContext, flagUrl: string | undefined, fn: (redis: BrokerConnection) => Promise<T>, name = "diracx-tasks:cli"): Promise<T> {
  const redis = await connectBrokerOnce(flagUrl ?? ctx.tasks.redisUrl, { name, timeoutMs: ctx.connectTimeoutMs, source: sourceOf(flagUrl) });
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}
