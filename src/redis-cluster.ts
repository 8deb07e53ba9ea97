// The broker's topology: one Redis (`redis://`, `rediss://`), a Redis Cluster
// (`redis+cluster://h1:p1,h2:p2`, `rediss+cluster://…`) or a master found through Redis Sentinel
// (`redis+sentinel://s1:p1,s2:p2/<master>[/<db>]`, `rediss+sentinel://…`). Every connection the
// system makes is built here, so producers, workers, BullMQ, locks, the scheduler and operator
// commands all follow one URL; and the few commands that are per node on a cluster (SCAN,
// FLUSHALL) go through `masterNodes` so they reach every master.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import { DiracxError } from "./errors.ts";

/** A broker connection: a single Redis (also when reached through Sentinel) or a Redis Cluster. */
export type BrokerConnection = Redis | Cluster;

export interface BrokerNode {
  host: string;
  port: number;
}

/** What a `+cluster` / `+sentinel` URL names (the password stays here, never in a message). */
export type MultiNodeUrl =
  | { kind: "cluster"; tls: boolean; nodes: BrokerNode[]; username?: string; password?: string }
  | {
      kind: "sentinel";
      tls: boolean;
      nodes: BrokerNode[];
      /** The master's name as the sentinels know it (`sentinel monitor <name> …`). */
      masterName: string;
      db: number;
      username?: string;
      password?: string;
      sentinelUsername?: string;
      sentinelPassword?: string;
    };

/** A malformed `+cluster` / `+sentinel` URL (the message never holds its password). */
export class BrokerUrlError extends DiracxError {}

const MULTI_NODE = /^(rediss?)\+(cluster|sentinel):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/;

/** The URL with its password replaced by `***`. */
function masked(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");
}

function parseNodes(hosts: string, defaultPort: number, fail: (problem: string) => never): BrokerNode[] {
  if (hosts === "") fail("no host:port listed");
  return hosts.split(",").map((entry) => {
    const m = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d+))?$/.exec(entry.trim());
    if (!m) fail(`'${entry}' is not host:port`);
    const port = m[2] === undefined ? defaultPort : Number(m[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65_535) fail(`port of '${entry}' is out of range`);
    return { host: m[1]!.replace(/^\[(.*)\]$/, "$1"), port };
  });
}

/**
 * Parses a `redis+cluster://` or `redis+sentinel://` URL; undefined for a plain `redis://` or
 * `rediss://` URL (ioredis reads those itself). Throws BrokerUrlError naming the problem.
 */
export function parseMultiNodeUrl(url: string): MultiNodeUrl | undefined {
  if (!/^rediss?\+/.test(url)) return undefined;
  const fail = (problem: string): never => {
    throw new BrokerUrlError(`broker URL ${masked(url)}: ${problem} (expected redis+cluster://[user:password@]host:port,host:port or redis+sentinel://[user:password@]host:port,host:port/<master>[/<db>])`);
  };
  const m = MULTI_NODE.exec(url);
  if (!m) return fail("not a redis+cluster:// or redis+sentinel:// URL");
  const [, scheme, kind, userinfo, hosts, path, query] = m;
  const tls = scheme === "rediss";
  const auth: { username?: string; password?: string } = {};
  if (userinfo !== undefined && userinfo !== "") {
    const colon = userinfo.indexOf(":");
    const user = decodeURIComponent(colon === -1 ? "" : userinfo.slice(0, colon));
    const password = decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(colon + 1));
    if (user !== "") auth.username = user;
    if (password !== "") auth.password = password;
  }
  const params = new URLSearchParams(query ?? "");
  const segments = (path ?? "").split("/").filter((s) => s !== "");
  if (kind === "cluster") {
    if (segments.length > 0) fail("a cluster has no databases: remove the path");
    for (const name of params.keys()) fail(`unknown parameter '${name}'`);
    return { kind, tls, nodes: parseNodes(hosts!, 6379, fail), ...auth };
  }
  if (segments.length === 0 || segments.length > 2) fail("name the master after the sentinels: /<master>[/<db>]");
  const db = segments[1] === undefined ? 0 : Number(segments[1]);
  if (!Number.isInteger(db) || db < 0) fail(`database '${segments[1]}' is not a number`);
  const sentinelAuth: { sentinelUsername?: string; sentinelPassword?: string } = {};
  for (const [name, value] of params) {
    if (name === "sentinelPassword") sentinelAuth.sentinelPassword = value;
    else if (name === "sentinelUsername") sentinelAuth.sentinelUsername = value;
    else fail(`unknown parameter '${name}' (known: sentinelUsername, sentinelPassword)`);
  }
  return { kind: "sentinel", tls, nodes: parseNodes(hosts!, 26379, fail), masterName: decodeURIComponent(segments[0]!), db, ...auth, ...sentinelAuth };
}

/**
 * A connection to the broker a URL names, with ioredis options written for a single Redis:
 * on a cluster they become the options of each node's connection (so BullMQ finds its
 * `maxRetriesPerRequest: null` there), `retryStrategy` becomes the cluster's and `lazyConnect` /
 * `enableReadyCheck` the cluster's own; through Sentinel `retryStrategy` also paces the sentinels.
 */
export function createBrokerClient(url: string, options: RedisOptions = {}): BrokerConnection {
  const target = parseMultiNodeUrl(url);
  if (!target) return new Redis(url, options);
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
