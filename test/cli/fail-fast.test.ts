// Every short-lived command against a broker it cannot use (closed port, wrong password, TLS
// mismatch both ways, a server that never answers) exits 1 with one line naming the masked
// URL and the cause; an ACL user and rediss:// work. Real redis-server processes throughout.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { freePort } from "../support/ports.ts";
import { RedisServer } from "../support/redis.ts";

const root = path.resolve(import.meta.dirname, "../..");
const bin = path.join(root, "bin/diracx-tasks.mjs");
const SECRET = "s3cr3t-pw";

// A self-signed certificate for 127.0.0.1, trusted by the CLI through NODE_EXTRA_CA_CERTS.
const certDir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-tls-"));
execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(certDir, "key.pem"), "-out", path.join(certDir, "cert.pem"), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
const tlsArgs = ["--port", "0", "--tls-port", "{port}", "--tls-cert-file", path.join(certDir, "cert.pem"), "--tls-key-file", path.join(certDir, "key.pem"), "--tls-auth-clients", "no"];

const plain = await RedisServer.start();
const protectedServer = await RedisServer.start({ args: ["--requirepass", SECRET, "--user", "alice", "on", `>${SECRET}`, "~*", "&*", "+@all"] });
const tlsServer = await RedisServer.start({ args: tlsArgs });
// Accepts TCP connections and never answers: only the bound ends the wait.
const silent = net.createServer(() => {});
const silentPort = await freePort();
await new Promise<void>((resolve) => silent.listen(silentPort, "127.0.0.1", resolve));
const closedPort = await freePort();

after(async () => {
  silent.close();
  await Promise.all([plain.stop(), protectedServer.stop(), tlsServer.stop()]);
  fs.rmSync(certDir, { recursive: true, force: true });
});

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>): Promise<Result> {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    env: { ...process.env, DIRACX_TASKS_CONNECT_TIMEOUT_SECONDS: "2", NODE_EXTRA_CA_CERTS: path.join(certDir, "cert.pem"), NODE_NO_WARNINGS: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  // A command that hangs is the failure this file is about: stop it rather than the test run.
  const watchdog = setTimeout(() => child.kill("SIGKILL"), 120_000);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(watchdog);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `jobs` at most `n` at a time (each is a whole CLI process). */
async function pool<T>(jobs: (() => Promise<T>)[], n = 3): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}

const COMMANDS: string[][] = [
  ["submit", "jobs:CleanTaskQueuesTask"],
  ["status"],
  ["tasks", "list", "--state", "waiting"],
  ["show", "42"],
  ["schedules", "list"],
  ["locks", "list"],
  ["call", "jobs:CleanTaskQueuesTask"],
  ["cancel", "42"],
  ["retry", "42"],
  ["promote", "42"],
  ["queue", "pause", "small"],
];

// One command per way a command connects (an engine, a bare broker connection, the lock manager's).
const EACH_PATH = new Set(["submit", "schedules", "locks"]);

// `commands`: every command for the failures the issue names, one per connection path for the rest.
const FAILURES: { name: string; url: string; cause: RegExp; commands: "all" | "each-path" }[] = [
  { name: "a closed port", url: `redis://127.0.0.1:${closedPort}`, cause: /connection refused$/, commands: "all" },
  { name: "a wrong password", url: `redis://:wrong-${SECRET}@127.0.0.1:${protectedServer.port}`, cause: /WRONGPASS/, commands: "all" },
  { name: "redis:// against a TLS port", url: `redis://:${SECRET}@127.0.0.1:${tlsServer.port}`, cause: /rediss:\/\/|closed|reset|timed out/, commands: "all" },
  { name: "no password where one is required", url: protectedServer.url, cause: /NOAUTH/, commands: "each-path" },
  { name: "rediss:// against a plain server", url: `rediss://:${SECRET}@127.0.0.1:${plain.port}`, cause: /TLS|timed out/, commands: "each-path" },
  { name: "a server that never answers", url: `redis://:${SECRET}@127.0.0.1:${silentPort}`, cause: /timed out after 2 s/, commands: "each-path" },
];

describe("short-lived commands fail fast with one masked line", () => {
  for (const failure of FAILURES) {
    const commands = failure.commands === "all" ? COMMANDS : COMMANDS.filter((c) => EACH_PATH.has(c[0]!));
    it(`${failure.commands === "all" ? "every command" : "each connection path"} against ${failure.name}`, async () => {
      const results = await pool(commands.map((args) => () => cli(args, { DIRACX_TASKS_REDIS_URL: failure.url })));
      const masked = failure.url.replace(/:[^:@/]*@/, ":***@");
      results.forEach((r, i) => {
        const what = commands[i]!.join(" ");
        assert.equal(r.code, 1, `${what}: exit code ${r.code}, stderr ${r.stderr}`);
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.length, 1, `${what}: one line, got ${r.stderr}`);
        assert.match(lines[0]!, /^diracx-tasks: cannot connect to Redis at /, what);
        assert.ok(lines[0]!.includes(masked), `${what}: names ${masked}: ${lines[0]}`);
        assert.match(lines[0]!, failure.cause, what);
        assert.ok(!`${r.stdout}${r.stderr}`.includes(SECRET), `${what}: prints the password`);
      });
    });
  }

  it("--redis-url is named as the source when it is given", async () => {
    const r = await cli(["schedules", "--redis-url", `redis://127.0.0.1:${closedPort}`, "list"], { DIRACX_TASKS_REDIS_URL: plain.url });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot connect to Redis at redis:\/\/127\.0\.0\.1:\d+ \(--redis-url\): connection refused/);
  });

  it("db init against an unreachable PostgreSQL: one line, password masked", async () => {
    const r = await cli(["db", "init", "--db", "TaskDB"], { DIRACX_DB_URL_TASKDB: `postgresql://diracx:${SECRET}@127.0.0.1:${closedPort}/taskdb` });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /127\.0\.0\.1/);
    assert.ok(!r.stderr.includes(SECRET), r.stderr);
  });
});

describe("ACL users and TLS", () => {
  it("an ACL user name and password (redis://user:pass@) connect", async () => {
    const url = `redis://alice:${SECRET}@127.0.0.1:${protectedServer.port}`;
    const submitted = await cli(["submit", "jobs:CleanTaskQueuesTask"], { DIRACX_TASKS_REDIS_URL: url });
    assert.equal(submitted.code, 0, submitted.stderr);
    const status = await cli(["status", "--json"], { DIRACX_TASKS_REDIS_URL: url });
    assert.equal(status.code, 0, status.stderr);
    const queues = (JSON.parse(status.stdout) as { queues: { size: string; waiting: Record<string, number> }[] }).queues;
    assert.equal(queues.find((q) => q.size === "small")!.waiting.background, 1);
  });

  it("an ACL user with a wrong password is refused with WRONGPASS, password masked", async () => {
    const r = await cli(["status"], { DIRACX_TASKS_REDIS_URL: `redis://alice:nope-${SECRET}@127.0.0.1:${protectedServer.port}` });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /redis:\/\/alice:\*\*\*@127\.0\.0\.1:\d+ \(DIRACX_TASKS_REDIS_URL\): WRONGPASS/);
    assert.ok(!r.stderr.includes(SECRET));
  });

  it("rediss:// reaches a TLS server (CA from NODE_EXTRA_CA_CERTS)", async () => {
    const url = `rediss://127.0.0.1:${tlsServer.port}`;
    const submitted = await cli(["submit", "jobs:CleanTaskQueuesTask"], { DIRACX_TASKS_REDIS_URL: url });
    assert.equal(submitted.code, 0, submitted.stderr);
    const locks = await cli(["locks", "list"], { DIRACX_TASKS_REDIS_URL: url });
    assert.equal(locks.code, 0, locks.stderr);
    assert.equal(locks.stdout.trim(), "no locks held");
  });
});

describe("status when TaskDB is down", () => {
  it("shows the queues and says the dead-letter count is unknown", async () => {
    const env = { DIRACX_TASKS_REDIS_URL: plain.url, DIRACX_DB_URL_TASKDB: `postgresql://diracx:${SECRET}@127.0.0.1:${closedPort}/taskdb` };
    const text = await cli(["status"], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^SIZE\s+REALTIME/m);
    assert.match(text.stdout, /^small\s/m);
    assert.match(text.stdout, /^dead letters: unknown \(TaskDB unreachable: .*127\.0\.0\.1/m);
    assert.ok(!`${text.stdout}${text.stderr}`.includes(SECRET));
    const json = await cli(["status", "--json"], env);
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout) as { queues: unknown[]; deadLetters: { pending: number | null; unknown?: string } };
    assert.equal(out.queues.length, 3);
    assert.equal(out.deadLetters.pending, null);
    assert.match(out.deadLetters.unknown ?? "", /^TaskDB unreachable/);
  });
});
