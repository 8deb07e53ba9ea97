import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { freePort, waitForPort } from "./ports.ts";

/** A private redis-server child process, so tests may FLUSHALL, restart or kill it freely. */
export class RedisServer {
  private proc: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    /** Extra redis-server arguments (e.g. `--requirepass`, `--user`, TLS); `{port}` is this port. */
    private readonly args: readonly string[] = [],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** `port`: a port chosen beforehand (e.g. a process already told to connect there). */
  static async start(opts: { args?: readonly string[]; port?: number } = {}): Promise<RedisServer> {
    const server = new RedisServer(opts.port ?? (await freePort()), opts.args);
    await server.restart();
    return server;
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
