import { Redis } from "ioredis";

/**
 * A broker connection. `maxRetriesPerRequest: null` makes commands wait for a
 * reconnect instead of failing, which BullMQ workers need to survive a Redis
 * restart (upstream workers died on one); ioredis keeps reconnecting with a
 * capped backoff.
 */
export function connectBroker(url: string, name = "diracx-tasks"): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: name,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
  });
}
