import { spawn, execFile, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort, waitForPort } from "./ports.ts";

const run = promisify(execFile);

/** Six nodes: three masters, each with one replica. */
const NODES = 6;

/**
 * A private local Redis Cluster: six `redis-server --cluster-enabled yes` children (three
 * masters, three replicas) joined by `redis-cli --cluster create`. Its URL is the
 * `redis+cluster://` form DIRACX_TASKS_REDIS_URL takes. Nothing is persisted, so a restart is
 * a wiped broker, as with RedisServer.
 */
export class RedisCluster {
  private procs: ChildProcess[] = [];
  private dir: string | undefined;

  private constructor(
    /** Client ports of the nodes. */
    readonly ports: readonly number[],
    /** Cluster bus ports (given explicitly, since port + 10000 may be out of range or taken). */
    private readonly busPorts: readonly number[],
  ) {}

  get url(): string {
    return `redis+cluster://${this.ports.map((p) => `127.0.0.1:${p}`).join(",")}`;
  }

  static async start(): Promise<RedisCluster> {
    const cluster = await RedisCluster.reserve();
    await cluster.restart();
    return cluster;
  }

  /** Ports chosen, nothing started yet (`restart` creates it): for a process told to connect before it exists. */
  static async reserve(): Promise<RedisCluster> {
    const ports: number[] = [];
    while (ports.length < 2 * NODES) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    const cluster = new RedisCluster(ports.slice(0, NODES), ports.slice(NODES));
    process.once("exit", () => {
      for (const proc of cluster.procs) proc.kill("SIGKILL");
    });
    return cluster;
  }

  /** (Re)creates the cluster on the same ports, empty. */
  async restart(): Promise<void> {
    if (this.procs.length > 0) await this.stop();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-redis-cluster-"));
    this.procs = this.ports.map((port, i) => this.spawnNode(port, this.busPorts[i]!));
    await Promise.all(this.ports.map((p) => waitForPort(p, "redis-server (cluster node)")));
    const addresses = this.ports.map((p) => `127.0.0.1:${p}`);
    try {
      await run("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", "1", "--cluster-yes"], { timeout: 60_000 });
    } catch (err) {
      await this.stop();
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`redis-cli --cluster create failed: ${e.stderr || e.stdout || e.message}`);
    }
    await this.waitUntilOk();
  }

  private spawnNode(port: number, busPort: number): ChildProcess {
    const dir = this.dir!;
    const proc = spawn(
      "redis-server",
      [
        "--port", String(port),
        "--cluster-port", String(busPort),
        "--bind", "127.0.0.1",
        "--cluster-enabled", "yes",
        "--cluster-config-file", path.join(dir, `nodes-${port}.conf`),
        "--cluster-node-timeout", "5000",
        "--dir", dir,
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--loglevel", "warning",
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    proc.on("error", (err) => {
      throw new Error(`cannot start redis-server (${err.message}); install it with: apt-get install redis-server`);
    });
    return proc;
  }

  /** Every node reports cluster_state:ok with all slots assigned and every node known. */
  private async waitUntilOk(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const clients = this.ports.map((port) => new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 1 }));
    try {
      for (;;) {
        const infos = await Promise.all(clients.map((c) => c.cluster("INFO").catch(() => "")));
        const ok = infos.every((info) => /cluster_state:ok/.test(info) && /cluster_slots_assigned:16384/.test(info) && new RegExp(`cluster_known_nodes:${NODES}\\b`).test(info));
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`Redis Cluster on ports ${this.ports.join(",")} did not reach cluster_state:ok within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      for (const c of clients) c.disconnect();
    }
  }

  async stop(): Promise<void> {
    const procs = this.procs;
    this.procs = [];
    await Promise.all(
      procs.map(async (proc) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill("SIGKILL");
        await once(proc, "exit");
      }),
    );
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
