import type { RedisOptions } from "ioredis";
import type { Logger } from "pino";
import { DiracxError } from "../errors.ts";
import { logger as rootLogger } from "../logging.ts";
import { clientForTarget, type BrokerConnection } from "../redis-cluster.ts";
import { brokerTarget, connectionCause, maskUrlsIn, type BrokerTarget } from "../redis-url.ts";

/** A short-lived command could not reach the broker within its bound; one line, URL masked. */
export class BrokerUnreachableError extends DiracxError {}

/** A new client for a target: one Redis, a Cluster or a Sentinel-managed master (src/redis-cluster.ts). */
function clientFor(target: BrokerTarget, extra: RedisOptions): BrokerConnection {
  return clientForTarget(target, extra);
}

/**
 * One line per state change of a process's connections to one broker — lost (with the cause),
 * cause changed, restored — and a reminder at doubling intervals while it stays down, instead
 * of one line per reconnect attempt of every connection (BullMQ's duplicates included).
 */
class BrokerState {
  private readonly down = new Map<BrokerConnection, string>();
  private readonly known = new Set<BrokerConnection>();
  private lastCause: string | undefined;
  private since = 0;
  private reminder: NodeJS.Timeout | undefined;
  private reminderMs = 30_000;
  private everReady = false;

  constructor(
    private readonly target: BrokerTarget,
    private readonly log: Logger,
  ) {}

  track(redis: BrokerConnection, name: string): void {
    this.known.add(redis);
    redis.on("error", (err: Error) => this.failed(redis, connectionCause(err, this.target), name));
    redis.on("close", () => {
      if (!this.down.has(redis) && this.everReady) this.failed(redis, "connection closed", name);
    });
    redis.on("ready", () => this.ready(redis));
    redis.once("end", () => {
      this.known.delete(redis);
      this.ready(redis, true);
    });
  }

  private failed(redis: BrokerConnection, cause: string, name: string): void {
    if (redis.status === "end" || (redis as unknown as { manuallyClosing?: boolean }).manuallyClosing) return;
    const wasUp = this.down.size === 0;
    this.down.set(redis, cause);
    if (wasUp) {
      this.since = Date.now();
      this.lastCause = cause;
      this.log.warn({ broker: this.target.masked, cause, connection: name }, this.everReady ? "broker connection lost; reconnecting (not ready)" : "cannot reach the broker; retrying (not ready)");
      this.scheduleReminder();
    } else if (cause !== this.lastCause && cause !== "connection closed") {
      this.lastCause = cause;
      this.log.warn({ broker: this.target.masked, cause, connection: name }, "broker still unreachable, for another reason");
    }
  }

  private ready(redis: BrokerConnection, ended = false): void {
    if (!ended) this.everReady = true;
    if (!this.down.delete(redis) || this.down.size > 0) return;
    clearTimeout(this.reminder);
    this.reminder = undefined;
    this.reminderMs = 30_000;
    if (!ended) this.log.info({ broker: this.target.masked, downMs: Date.now() - this.since }, "broker connection restored");
  }

  private scheduleReminder(): void {
    clearTimeout(this.reminder);
    this.reminder = setTimeout(() => {
      if (this.down.size === 0) return;
      this.log.warn({ broker: this.target.masked, cause: this.lastCause, downSeconds: Math.round((Date.now() - this.since) / 1000) }, "broker still unreachable; retrying");
      this.reminderMs = Math.min(this.reminderMs * 2, 600_000);
      this.scheduleReminder();
    }, this.reminderMs);
    this.reminder.unref();
  }
}

const states = new Map<string, BrokerState>();

/** The process-wide state logger of one broker (by masked URL). */
function stateOf(target: BrokerTarget, log: Logger): BrokerState {
  let s = states.get(target.masked);
  if (!s) states.set(target.masked, (s = new BrokerState(target, log)));
  return s;
}

/**
 * A broker connection for a long-running process. `maxRetriesPerRequest: null` makes commands
 * wait for a reconnect instead of failing, which BullMQ workers need to survive a Redis
 * restart (upstream workers died on one); ioredis keeps reconnecting with a capped backoff.
 * Its state changes are logged once per process and broker (see BrokerState).
 */
export function connectBroker(url: string, name = "diracx-tasks", log: Logger = rootLogger): BrokerConnection {
  const target = brokerTarget(url);
  const redis = clientFor(target, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    connectionName: name,
    connectTimeout: 10_000,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
  });
  stateOf(target, log).track(redis, name);
  return redis;
}

/** Whether every connection is connected and has passed its ready check. */
export function brokerReady(...connections: BrokerConnection[]): boolean {
  return connections.every((c) => c.status === "ready");
}

/**
 * A connection for a short-lived command: connected within `timeoutMs` (the command's
 * DIRACX_TASKS_CONNECT_TIMEOUT_SECONDS, read at its wiring) or BrokerUnreachableError, one line naming the masked
 * URL, where it came from and the cause (refused, timed out, WRONGPASS, NOAUTH, TLS).
 * Commands on it fail instead of waiting for a reconnect.
 */
export async function connectBrokerOnce(
  url: string,
  opts: { name?: string; timeoutMs: number; source?: string },
): Promise<BrokerConnection> {
  const target = brokerTarget(url);
  const timeoutMs = opts.timeoutMs;
  const redis = clientFor(target, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
    connectionName: opts.name ?? "diracx-tasks:cli",
  });
  let cause: string | undefined;
  redis.on("error", (err: Error) => (cause ??= connectionCause(err, target)));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("timed out")), timeoutMs);
      }),
    ]);
    return redis;
  } catch (err) {
    redis.disconnect();
    cause ??= (err as Error).message === "timed out" ? `timed out after ${timeoutMs / 1000} s${target.tls ? " (no TLS handshake: a plain server? use redis://)" : ""}` : connectionCause(err, target);
    throw new BrokerUnreachableError(`cannot connect to Redis at ${target.masked} (${opts.source ?? "DIRACX_TASKS_REDIS_URL"}): ${cause}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Fails fast with BrokerUnreachableError when the broker cannot be reached; closes its probe. */
export async function assertBrokerReachable(url: string, opts: { timeoutMs: number; source?: string }): Promise<void> {
  const probe = await connectBrokerOnce(url, { ...opts, name: "diracx-tasks:probe" });
  probe.disconnect();
}

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EPIPE", "EHOSTUNREACH", "ENETUNREACH"]);
const CONNECTION_MESSAGES = /^(WRONGPASS|NOAUTH|LOADING|MASTERDOWN)|Connection is closed|Stream isn't writeable|max retries per request|connect ETIMEDOUT|ECONNRESET|ECONNREFUSED/;

/**
 * What a BullMQ / ioredis `error` event means: the connection (logged once per state change by
 * the connection itself), a job lock that could not be renewed (the job may run twice: said
 * as such, not as a broker error), or anything else (a command refused, e.g. OOM under maxmemory).
 */
export function brokerErrorKind(err: Error): "connection" | "job-lock" | "other" {
  const code = (err as { code?: string }).code;
  if ((code && CONNECTION_CODES.has(code)) || CONNECTION_MESSAGES.test(err.message)) return "connection";
  if (/could not renew lock|Missing lock for job|lock mismatch/i.test(err.message)) return "job-lock";
  return "other";
}

/**
 * An `error` listener for BullMQ objects: connection errors are left to the connection's state
 * log; the rest is logged once per kind of message per minute (with how many were folded in),
 * never once per retry. None of them changes readiness, which follows the connection state.
 */
export function brokerErrorReporter(log: Logger, everyMs = 60_000): (err: Error) => void {
  const seen = new Map<string, { at: number; folded: number }>();
  return (err: Error) => {
    const kind = brokerErrorKind(err);
    if (kind === "connection") return;
    const key = `${kind}:${err.message.replace(/\d+/g, "#")}`;
    const now = Date.now();
    const last = seen.get(key);
    if (last && now - last.at < everyMs) {
      last.folded++;
      return;
    }
    const folded = last?.folded ?? 0;
    seen.set(key, { at: now, folded: 0 });
    const fields = { err: maskUrlsIn(err.message), ...(folded ? { repeated: folded } : {}) };
    if (kind === "job-lock") log.warn(fields, "job lock lost (the task may be run again by another worker)");
    else log.warn(fields, "broker command failed; retrying");
  };
}
