// The one module that turns a broker URL (DIRACX_TASKS_REDIS_URL, --redis-url) into ioredis
// connection options, masks it for messages, and names why a connection failed. Every
// connection of the task system (engine, worker, scheduler, CLI probes) goes through here.
//
//   redis://[[user]:password@]host[:port][/db]     plain TCP, optional ACL user
//   rediss://…                                      TLS (the CA: NODE_EXTRA_CA_CERTS)
//
// Other forms (Redis Cluster, Sentinel) are added as further `BrokerTarget` kinds by a module
// of their own that `brokerTarget` hands the URL to; everything else stays unchanged.
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

export type BrokerTarget = StandaloneTarget;

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
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new BrokerUrlError(`broker URL ${masked} is not a URL (expected redis://[user:password@]host[:port][/db] or rediss://…)`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new BrokerUrlError(`broker URL ${masked}: unsupported scheme '${u.protocol}' (expected redis:// or rediss://)`);
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

