import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import type { RedisOptions } from "ioredis";
import { createBrokerClient, isCluster, masterNodes, type BrokerConnection } from "../../src/redis-cluster.ts";
import { freePort, waitForPort } from "./ports.ts";
import { RedisCluster } from "./redis-cluster.ts";

/**
 * DIRACX_TEST_REDIS=cluster makes every test broker a local 3-master Redis Cluster
 * (`npm run test:cluster`); otherwise each is one redis-server.
 */
export const onCluster = process.env.DIRACX_TEST_REDIS === "cluster";

/** A test's own broker: a redis-server child, or a RedisCluster under DIRACX_TEST_REDIS=cluster. */
interface Broker {
  readonly url: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** One private redis-server child process, so tests may FLUSHALL, restart or kill it freely. */
class SingleRedis implements Broker {
  private proc: ChildProcess | undefined;
  constructor(
    readonly port: number,
    /** Extra redis-server arguments (e.g. `--requirepass`, `--user`, TLS); `{port}` is this port. */
    private readonly args: readonly string[] = [],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on the same port, with no persistence: a restart is a wiped broker. */
  async restart(): Promise<void> {
    if (this.proc) await this.stop();
    const proc = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning", ...this.args.map((a) => a.replaceAll("{port}", String(this.port)))],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    proc.on("error", (err) => {
      throw new Error(`cannot start redis-server (${err.message}); install it with: apt-get install redis-server`);
    });
    this.proc = proc;
    process.once("exit", () => proc.kill("SIGKILL"));
    await waitForPort(this.port, "redis-server");
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    proc.kill("SIGKILL");
    await once(proc, "exit");
  }
}

/**
 * A test's private broker. Its `url` is what DIRACX_TASKS_REDIS_URL takes (`redis://…`, or
 * `redis+cluster://…` on a cluster); connect to it with `redisClient`, wipe it with `flushBroker`.
 */
export class RedisServer {
  private constructor(private readonly broker: Broker) {}

  get url(): string {
    return this.broker.url;
  }

  /** Whether this broker is a Redis Cluster. */
  get cluster(): boolean {
    return this.broker instanceof RedisCluster;
  }

  /** The port of a single redis-server (a cluster has six: use `url`). */
  get port(): number {
    if (!(this.broker instanceof SingleRedis)) throw new Error("a Redis Cluster test broker has no single port");
    return this.broker.port;
  }

  /**
   * `args`: extra redis-server arguments; `port`: a port chosen beforehand (e.g. a process already
   * told to connect there). Either makes it one redis-server, also under DIRACX_TEST_REDIS=cluster.
   */
  static async start(opts: { args?: readonly string[]; port?: number } = {}): Promise<RedisServer> {
    if (onCluster && opts.args === undefined && opts.port === undefined) return new RedisServer(await RedisCluster.start());
    const single = new SingleRedis(opts.port ?? (await freePort()), opts.args);
    await single.restart();
    return new RedisServer(single);
  }

  /**
   * A broker whose URL is known but which is not running yet (`restart` starts it, empty): for a
   * process told to connect before the broker exists. A cluster under DIRACX_TEST_REDIS=cluster.
   */
  static async reserve(): Promise<RedisServer> {
    return new RedisServer(onCluster ? await RedisCluster.reserve() : new SingleRedis(await freePort()));
  }

  /** (Re)starts the broker on the same port(s), with no persistence: a restart is a wiped broker. */
  async restart(): Promise<void> {
    await this.broker.restart();
  }

  async stop(): Promise<void> {
    await this.broker.stop();
  }
}

/** A client of a test broker URL (a Cluster client for a `redis+cluster://` URL). */
export function redisClient(url: string, options: RedisOptions = {}): BrokerConnection {
  return createBrokerClient(url, options);
}

/** FLUSHALL on every master (a cluster client sends a keyless command to one node only). */
export async function flushBroker(connection: BrokerConnection): Promise<void> {
  if (isCluster(connection) && connection.status !== "ready") await once(connection, "ready");
  await Promise.all(masterNodes(connection).map((node) => node.flushall()));
}
