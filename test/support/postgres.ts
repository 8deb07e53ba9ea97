import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { freePort, waitForPort } from "./ports.ts";

function pgBinary(name: string): string {
  const fromPath = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
  if (fromPath) return fromPath;
  const base = "/usr/lib/postgresql";
  if (fs.existsSync(base)) {
    for (const v of fs.readdirSync(base).sort().reverse()) {
      const p = path.join(base, v, "bin", name);
      if (fs.existsSync(p)) return p;
    }
  }
  throw new Error(`PostgreSQL's ${name} not found; install it with: apt-get install postgresql`);
}

/** initdb refuses to run as root, so the server runs as the `postgres` system user when we are root. */
function ownerIds(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const out = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (out.status !== 0) throw new Error("running as root but no `postgres` user exists to own the test cluster");
  return { uid: Number(out.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** A throw-away PostgreSQL cluster in a temporary directory, on a free port. */
export class PostgresServer {
  private proc: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    readonly dataDir: string,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async start(): Promise<PostgresServer> {
    const ids = ownerIds();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-pg-"));
    if (ids.uid !== undefined) fs.chownSync(dir, ids.uid, ids.gid!);
    const init = spawnSync(pgBinary("initdb"), ["-D", dir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"], {
      ...ids,
      encoding: "utf8",
    });
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    const server = new PostgresServer(await freePort(), dir);
    await server.spawn();
    return server;
  }

  private async spawn(): Promise<void> {
    const ids = ownerIds();
    const proc = spawn(
      pgBinary("postgres"),
      ["-D", this.dataDir, "-p", String(this.port), "-k", this.dataDir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300"],
      { ...ids, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    this.proc = proc;
    // A private server must never outlive the process that started it.
    process.once("exit", () => proc.kill("SIGKILL"));
    try {
      await waitForPort(this.port, "postgres");
      await this.acceptingQueries();
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${stderr}`);
    }
  }

  /** The port opens before recovery ends ("the database system is starting up"): wait for a query. */
  private async acceptingQueries(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const client = new pg.Client({ connectionString: this.url });
      client.on("error", () => {});
      try {
        await client.connect();
        await client.query("SELECT 1");
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        await client.end().catch(() => {});
      }
    }
  }

  /** An outage: the server stops (its clients' connections drop), keeping its data for `resume()`. */
  async pause(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (proc && proc.exitCode === null) {
      proc.kill("SIGINT");
      await once(proc, "exit");
    }
  }

  /** Back after `pause()`, on the same port with the same data. */
  async resume(): Promise<void> {
    if (!this.proc) await this.spawn();
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (proc && proc.exitCode === null) {
      proc.kill("SIGINT");
      await once(proc, "exit");
    }
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

let shared: Promise<{ url: string; stop: () => Promise<void> }> | undefined;

/**
 * The PostgreSQL server for this test process: the one the test runner started
 * (DIRACX_TEST_PG_URL), or a private one when a test file is run on its own.
 */
async function server(): Promise<{ url: string; stop: () => Promise<void> }> {
  shared ??= (async () => {
    const url = process.env.DIRACX_TEST_PG_URL;
    if (url) return { url, stop: async () => {} };
    const s = await PostgresServer.start();
    return { url: s.url, stop: () => s.stop() };
  })();
  return shared;
}

/** Creates a fresh, empty database and returns its URL. */
export async function createTestDatabase(prefix = "t"): Promise<string> {
  const { url } = await server();
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`.toLowerCase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Stops a private server started by this process (no-op under the test runner). */
export async function stopTestPostgres(): Promise<void> {
  if (shared) await (await shared).stop();
  shared = undefined;
}
