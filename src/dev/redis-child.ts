import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DiracxError } from "../errors.ts";
import { logger as rootLogger, type Logger } from "../logging.ts";
import { freePort } from "./net.ts";

/** `redis-server` is not installed (or not on PATH). */
export class RedisServerMissingError extends DiracxError {}
/** `redis-server` started but exited or never answered. */
export class RedisChildError extends DiracxError {}

export interface RedisChildOptions {
  /** Where Redis keeps its append-only file, e.g. `.diracx-dev/redis`; created if missing. */
  dataDir: string;
  /** A fixed port; by default a free one is picked. */
  port?: number;
  /** The executable; tests point it elsewhere. */
  command?: string;
  startTimeoutMs?: number;
  /** How long a clean shutdown (final AOF write) may take before SIGKILL. */
  stopTimeoutMs?: number;
  /**
   * Stop Redis and exit on SIGINT/SIGTERM. Leave it on when nothing else handles signals;
   * `diracx-tasks dev` turns it off and calls `stop()` itself after its workers have
   * drained, since they need Redis to hand their jobs back.
   */
  stopOnSignals?: boolean;
  logger?: Logger;
}

export interface RedisChild {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  /** Asks Redis to shut down (it writes its data) and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

const MISSING_HINT = "install it: apt-get install redis-server, or set DIRACX_TASKS_REDIS_URL to use a running Redis";

/**
 * Starts a private `redis-server` for `diracx-tasks dev` when no Redis URL is given, and
 * resolves once it answers PING. Data persists under `dataDir` (append-only file), so a
 * dev session restarted later finds its schedules and queued tasks again.
 */
export async function startRedisChild(opts: RedisChildOptions): Promise<RedisChild> {
  const dataDir = path.resolve(opts.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  // A picked port can be taken between picking and binding; try a few. A fixed one is tried once.
  const tries = opts.port === undefined ? 3 : 1;
  for (let i = 1; ; i++) {
    const port = opts.port ?? (await freePort());
    try {
      return await startOnce(port, dataDir, opts);
    } catch (err) {
      if (i >= tries || !(err instanceof RedisChildError) || !/address already in use/i.test(err.message)) throw err;
    }
  }
}

async function startOnce(port: number, dataDir: string, opts: RedisChildOptions): Promise<RedisChild> {
  const command = opts.command ?? "redis-server";
  const log = (opts.logger ?? rootLogger).child({ component: "redis-child", port });
  const args = [
    "--port", String(port),
    "--bind", "127.0.0.1",
    "--dir", dataDir,
    "--daemonize", "no",
    "--appendonly", "yes",
    "--appendfsync", "everysec",
    "--save", "",
    // BullMQ requires that Redis never evicts its keys.
    "--maxmemory-policy", "noeviction",
    "--loglevel", "warning",
    "--logfile", "",
  ];
  // Its own process group: a Ctrl-C at the terminal reaches only us, and we stop Redis
  // last, after the workers that still need it.
  const proc = spawn(command, args, { cwd: dataDir, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const keep = (chunk: Buffer): void => {
    output.push(...chunk.toString("utf8").split("\n").filter((l) => l.trim() !== ""));
    if (output.length > 20) output.splice(0, output.length - 20);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);

  try {
    // `once` rejects with the 'error' event: that is how a missing executable shows up.
    await once(proc, "spawn");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOENT") throw new RedisServerMissingError(`'${command}' was not found on PATH; ${MISSING_HINT}`);
    throw new RedisChildError(`cannot start '${command}': ${e.message}`);
  }
  const pid = proc.pid as number;
  const exited = once(proc, "exit") as Promise<[number | null, NodeJS.Signals | null]>;

  // If this process ends without stop() (an uncaught error, process.exit), Redis must not
  // outlive it: SIGTERM lets it finish writing its data on its own.
  const onExit = (): void => void proc.kill("SIGTERM");
  process.on("exit", onExit);

  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      process.off("exit", onExit);
      await exited;
      throw new RedisChildError(`redis-server on port ${port} (data ${dataDir}) exited at start: ${output.slice(-3).join(" | ") || `exit code ${proc.exitCode}`}`);
    }
    const reply = await ping(port);
    if (reply === "PONG") break;
    if (Date.now() > deadline) {
      process.off("exit", onExit);
      await stopProcess(proc, exited, 2_000);
      throw new RedisChildError(`redis-server on port ${port} did not answer PING within ${opts.startTimeoutMs ?? 20_000} ms (last reply: ${reply ?? "no connection"})`);
    }
    // Poll until it answers; it may be replaying a large append-only file (-LOADING).
    await Promise.race([sleep(50), exited]);
  }
  log.info({ dataDir, pid }, "started local redis-server");

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      process.off("exit", onExit);
      await stopProcess(proc, exited, opts.stopTimeoutMs ?? 10_000);
      removeSignalHandlers();
      log.info("stopped local redis-server");
    })());

  const onSignal = (signal: NodeJS.Signals): void => {
    void stop().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  const removeSignalHandlers = (): void => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  void exited.then(([code, signal]) => {
    if (!stopping) log.error({ code, signal, output: output.slice(-5) }, "local redis-server exited unexpectedly");
  });
  if (opts.stopOnSignals ?? true) {
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  }

  return { url: `redis://127.0.0.1:${port}`, port, pid, dataDir, stop };
}

async function stopProcess(proc: ChildProcess, exited: Promise<unknown>, timeoutMs: number): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** One PING over a raw socket: the reply line without its type marker, or undefined if unreachable. */
async function ping(port: number): Promise<string | undefined> {
  return await new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    let buf = "";
    const done = (v: string | undefined): void => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(2_000, () => done(undefined));
    sock.once("error", () => done(undefined));
    sock.once("connect", () => sock.write("PING\r\n"));
    sock.on("data", (d) => {
      buf += d.toString("utf8");
      const end = buf.indexOf("\r\n");
      if (end >= 0) done(buf.slice(1, end));
    });
  });
}
