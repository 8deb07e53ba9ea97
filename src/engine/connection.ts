import { logger } from "../logging.ts";
import { createBrokerClient, type BrokerConnection } from "../redis-cluster.ts";

/**
 * A broker connection. `maxRetriesPerRequest: null` makes commands wait for a
 * reconnect instead of failing, which BullMQ workers need to survive a Redis
 * restart (upstream workers died on one); ioredis keeps reconnecting with a
 * capped backoff.
 */
export function connectBroker(url: string, name = "diracx-tasks"): BrokerConnection {
  const redis = createBrokerClient(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: name,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
  });
  // One line per outage rather than one per reconnect attempt.
  let down = false;
  redis.on("error", (err: Error) => {
    if (!down) logger.warn({ connection: name, err: err.message }, "broker connection lost; reconnecting");
    down = true;
  });
  redis.on("ready", () => {
    if (down) logger.info({ connection: name }, "broker connection restored");
    down = false;
  });
  return redis;
}
