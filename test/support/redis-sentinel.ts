import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { freePort, waitForPort } from "./ports.ts";

/**
 * A private Redis master watched by one Redis Sentinel (`redis-server --sentinel`), so tests can
 * use the `redis+sentinel://host:port/<master>` form of DIRACX_TASKS_REDIS_URL.
 */
export class RedisSentinel {
  private readonly procs: ChildProcess[] = [];
  private readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-redis-sentinel-"));

  private constructor(
    readonly masterPort: number,
    readonly sentinelPort: number,
    readonly masterName: string,
  ) {}

  get url(): string {
    return `redis+sentinel://127.0.0.1:${this.sentinelPort}/${this.masterName}`;
  }

  static async start(masterName = "diracx-master"): Promise<RedisSentinel> {
    const s = new RedisSentinel(await freePort(), await freePort(), masterName);
    process.once("exit", () => {
      for (const p of s.procs) p.kill("SIGKILL");
    });
    s.spawn(["--port", String(s.masterPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", s.dir, "--loglevel", "warning"]);
    await waitForPort(s.masterPort, "redis-server (sentinel master)");
    // A sentinel rewrites its configuration file, so it gets one of its own.
    const conf = path.join(s.dir, "sentinel.conf");
    fs.writeFileSync(
      conf,
      [
        `port ${s.sentinelPort}`,
        "bind 127.0.0.1",
        `dir ${s.dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${s.masterPort} 1`,
        `sentinel down-after-milliseconds ${masterName} 5000`,
        "",
      ].join("\n"),
    );
    s.spawn([conf, "--sentinel", "--loglevel", "warning"]);
    await waitForPort(s.sentinelPort, "redis-sentinel");
    // Ready once the sentinel names the master.
    const probe = new Redis({ port: s.sentinelPort, host: "127.0.0.1" });
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const addr = (await probe.call("SENTINEL", "get-master-addr-by-name", masterName)) as string[] | null;
        if (addr?.[1] === String(s.masterPort)) break;
        if (Date.now() > deadline) throw new Error(`sentinel on ${s.sentinelPort} does not know master ${masterName}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      probe.disconnect();
    }
    return s;
  }

  private spawn(args: string[]): void {
    const proc = spawn("redis-server", args, { stdio: ["ignore", "ignore", "inherit"] });
    proc.on("error", (err) => {
      throw new Error(`cannot start redis-server (${err.message}); install it with: apt-get install redis-server`);
    });
    this.procs.push(proc);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.procs.splice(0).map(async (proc) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return;
        proc.kill("SIGKILL");
        await once(proc, "exit");
      }),
    );
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
