// The one module that turns a broker URL (DIRACX_TASKS_REDIS_URL, --redis-url) into ioredis
// connection options, masks it for messages, and names why a connection failed. Every
// connection of the task system (engine, worker, scheduler, CLI probes) goes through here.
//
//   redis://[[user]:password@]host[:port][/db]     plain TCP, optional ACL user
//   rediss://…                                      TLS (the CA: NODE_EXTRA_CA_CERTS)
//
//   redis+cluster://[user:password@]h1:p1,h2:p2    a Redis Cluster (rediss+cluster:// with TLS)
//   redis+sentinel://[user:password@]s1:p1,s2:p2/<master>[/<db>]   a master behind Sentinel
// The clients themselves are built in src/redis-cluster.ts (clientForTarget).
import { isIP } from "node:net";
import type { RedisOptions } from "ioredis";
import { DiracxError } from "./errors.ts";

/** A broker URL that cannot be used; the message carries the masked URL. */
export class BrokerUrlError extends DiracxError {}

/** A single Redis server (the only kind so far). */
export interface StandaloneTarget {
  kind: "standalone";
  /** The URL with its password masked: the only form printed or logged. */
  masked: string;
  tls: boolean;
  /** host, port, username, password, db and tls for `new Redis(options)`. */
  options: RedisOptions;
}

/** A Redis Cluster or a Sentinel-managed master (src/redis-cluster.ts builds its client). */
export type MultiNodeTarget = MultiNodeUrl & { masked: string };

export type BrokerTarget = StandaloneTarget | MultiNodeTarget;

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


const MULTI_NODE = /^(rediss?)\+(cluster|sentinel):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/;


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
    throw new BrokerUrlError(`broker URL ${maskRedisUrl(url)}: ${problem} (expected redis+cluster://[user:password@]host:port,host:port or redis+sentinel://[user:password@]host:port,host:port/<master>[/<db>])`);
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



/** `redis://user:secret@host` → `redis://user:***@host` (never print a secret). */
export function maskRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/)([^@/]*)@/i, (_, scheme: string, auth: string) => {
    const colon = auth.indexOf(":");
    return colon === -1 ? `${scheme}${auth}@` : `${scheme}${auth.slice(0, colon)}:***@`;
  });
}

function hostOf(u: URL): string {
  return u.hostname.replace(/^\[|\]$/g, "") || "localhost";
}

/** Masks the password of every broker URL inside a message (an error text may quote one). */
export function maskUrlsIn(text: string): string {
  return text.replace(/\b([a-z+]+:\/\/[^:/@\s]*):[^@\s]*@/gi, "$1:***@");
}

/** The connection options of a broker URL; refuses a malformed one with one line. */
export function brokerTarget(url: string): BrokerTarget {
  const masked = maskRedisUrl(url);
  const multi = parseMultiNodeUrl(url);
  if (multi) return { ...multi, masked };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new BrokerUrlError(`broker URL ${masked} is not a URL (expected redis://[user:password@]host[:port][/db] or rediss://…)`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new BrokerUrlError(`broker URL ${masked}: unsupported scheme '${u.protocol}' (expected redis://, rediss://, redis+cluster:// or redis+sentinel://)`);
  }
  const tls = u.protocol === "rediss:";
  const dbPath = u.pathname.replace(/^\//, "");
  const db = dbPath === "" ? 0 : Number(dbPath);
  if (!Number.isInteger(db) || db < 0) throw new BrokerUrlError(`broker URL ${masked}: database '${dbPath}' is not a number`);
  const options: RedisOptions = {
    host: hostOf(u),
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    // SNI takes a host name only (an IP address is checked against the certificate without it).
    ...(tls ? { tls: isIP(hostOf(u)) ? {} : { servername: hostOf(u) } } : {}),
  };
  return { kind: "standalone", masked, tls, options };
}

/**
 * Why a connection failed, in words an operator acts on: refused, timed out, wrong password
 * (WRONGPASS), password required (NOAUTH), or a TLS mismatch. Never contains the password.
 */
export function connectionCause(err: unknown, target: Pick<BrokerTarget, "tls">): string {
  const e = err as { code?: string; message?: string } | undefined;
  const code = e?.code ?? "";
  const msg = e?.message ?? String(err);
  if (/^WRONGPASS/.test(msg)) return "WRONGPASS: wrong user name or password";
  if (/^NOAUTH/.test(msg)) return "NOAUTH: the server requires a password and none was given";
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `host not found (${code})`;
  if (code === "ETIMEDOUT") {
    return target.tls ? "timed out during the TLS handshake (a plain server? use redis://)" : "timed out";
  }
  if (code === "ECONNRESET" && !target.tls) return "connection reset by the server (a TLS port? use rediss://)";
  if (/SSL|TLS|certificate|self.signed|wrong version number/i.test(msg) || code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS") || /CERT/.test(code)) {
    return `TLS error: ${msg}${/wrong version number|packet length/i.test(msg) ? " (a plain server? use redis://)" : ""}`;
  }
  return maskUrlsIn(msg);
}

