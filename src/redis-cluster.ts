// The broker's topology: one Redis (`redis://`, `rediss://`), a Redis Cluster
// (`redis+cluster://h1:p1,h2:p2`, `rediss+cluster://…`) or a master found through Redis Sentinel
// (`redis+sentinel://s1:p1,s2:p2/<master>[/<db>]`, `rediss+sentinel://…`). Every connection the
// system makes is built here, so producers, workers, BullMQ, locks, the scheduler and operator
// commands all follow one URL; and the few commands that are per node on a cluster (SCAN,
// FLUSHALL) go through `masterNodes` so they reach every master.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import { brokerTarget, type BrokerTarget } from "./redis-url.ts";

export { BrokerUrlError, parseMultiNodeUrl, type BrokerNode, type MultiNodeUrl } from "./redis-url.ts";

/** A broker connection: a single Redis (also when reached through Sentinel) or a Redis Cluster. */
export type BrokerConnection = Redis | Cluster;

/**
 * A connection to the broker a URL names, with ioredis options written for a single Redis:
 * on a cluster they become the options of each node's connection (so BullMQ finds its
 * `maxRetriesPerRequest: null` there), `retryStrategy` becomes the cluster's and `lazyConnect` /
 * `enableReadyCheck` the cluster's own; through Sentinel `retryStrategy` also paces the sentinels.
 */
export function createBrokerClient(url: string, options: RedisOptions = {}): BrokerConnection {
  return clientForTarget(brokerTarget(url), options);
}

/** The client of a parsed broker URL (src/redis-url.ts); `options` as for createBrokerClient. */
export function clientForTarget(target: BrokerTarget, options: RedisOptions = {}): BrokerConnection {
  if (target.kind === "standalone") return new Redis({ ...target.options, ...options });
  const auth = {
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
  };
  if (target.kind === "sentinel") {
    return new Redis({
      ...options,
      ...auth,
      sentinels: target.nodes,
      name: target.masterName,
      db: target.db,
      ...(target.sentinelUsername !== undefined ? { sentinelUsername: target.sentinelUsername } : {}),
      ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
      ...(options.retryStrategy ? { sentinelRetryStrategy: options.retryStrategy } : {}),
      ...(target.tls ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    });
  }
  const { retryStrategy, lazyConnect, enableReadyCheck, enableOfflineQueue, ...nodeOptions } = options;
  const clusterOptions: ClusterOptions = {
    redisOptions: { ...nodeOptions, ...auth, ...(target.tls ? { tls: {} } : {}) },
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    ...(enableReadyCheck !== undefined ? { enableReadyCheck } : {}),
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    ...(retryStrategy ? { clusterRetryStrategy: (times: number) => retryStrategy(times) } : {}),
    // Managed clusters with TLS announce names their certificates are issued for: connect by name.
    ...(target.tls ? { dnsLookup: (address: string, callback: (err: Error | null, address: string) => void) => callback(null, address) } : {}),
  };
  return new Cluster(target.nodes, clusterOptions);
}

export function isCluster(connection: BrokerConnection): connection is Cluster {
  return connection instanceof Cluster;
}

/** The connection name given at creation (each node's on a cluster), for readiness messages. */
export function connectionNameOf(connection: BrokerConnection): string | undefined {
  return isCluster(connection) ? connection.options.redisOptions?.connectionName : connection.options.connectionName;
}

/**
 * The connections to run a per-node command on (SCAN, FLUSHALL, DBSIZE): every master of a
 * cluster, or the one connection. A cluster must be connected (it learns its masters then).
 */
export function masterNodes(connection: BrokerConnection): Redis[] {
  return isCluster(connection) ? connection.nodes("master") : [connection];
}

/** Every key matching a pattern, on every master; the batches of one SCAN round at a time. */
export async function* scanKeys(connection: BrokerConnection, pattern: string, count = 1000): AsyncGenerator<{ node: Redis; keys: string[] }> {
  for (const node of masterNodes(connection)) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", count);
      cursor = next;
      if (keys.length > 0) yield { node, keys };
    } while (cursor !== "0");
  }
}

/**
 * Unlinks keys found on one node. On a cluster a multi-key command must stay in one slot, and
 * keys a SCAN returns need not, so each key is its own command there (pipelined).
 */
export async function unlinkOnNode(connection: BrokerConnection, node: Redis, keys: readonly string[]): Promise<number> {
  if (keys.length === 0) return 0;
  if (!isCluster(connection)) return await node.unlink(...keys);
  const replies = (await node.pipeline(keys.map((k) => ["unlink", k])).exec()) ?? [];
  let removed = 0;
  for (const [err, n] of replies) {
    if (err) throw err;
    removed += Number(n);
  }
  return removed;
}
