// Real worker processes and their broker's state: started before Redis (not ready, then ready),
// a Redis outage (a few log lines, not one per retry), a transient command error (maxmemory:
// readiness comes back), a wrong password (SIGTERM still stops it).
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, it } from "node:test";
import { masterNodes } from "../../src/redis-cluster.ts";
import { freePort } from "../support/ports.ts";
import { RedisServer, redisClient } from "../support/redis.ts";

const root = path.resolve(import.meta.dirname, "../..");
const appRoot = path.join(root, "test/fixtures/engine-app");
const children = new Set<ChildProcess>();
const servers = new Set<RedisServer>();
after(async () => {
  for (const c of children) c.kill("SIGKILL");
  await Promise.all([...servers].map((s) => s.stop()));
});

interface Worker {
  child: ChildProcess;
  healthPort: number;
  /** Every log line so far, parsed. */
  lines: { msg: string; level: number; [k: string]: unknown }[];
  /** Resolves with the first log line matching, at or after line `from`. */
  waitForLine(re: RegExp, from?: number): Promise<{ msg: string }>;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

async function startWorker(redisUrl: string, extraEnv: Record<string, string> = {}): Promise<Worker> {
  const healthPort = await freePort();
  const child = spawn(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), "worker", "--size", "small", "--health-port", String(healthPort), "--shutdown-timeout", "5"], {
    cwd: root,
    env: {
      ...process.env,
      DIRACX_APP_ROOT: appRoot,
      DIRACX_CONFIG_BACKEND_URL: path.join(appRoot, "diracx-config.yaml"),
      DIRACX_TASKS_REDIS_URL: redisUrl,
      DIRACX_LOG_FORMAT: "json",
      DIRACX_LOG_LEVEL: "info",
      DIRACX_TASKS_STALLED_INTERVAL_MS: "500",
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  void exited.then(() => children.delete(child));
  const lines: Worker["lines"] = [];
  const waiters: { re: RegExp; resolve: (l: { msg: string }) => void }[] = [];
  let buf = "";
  const onData = (d: Buffer): void => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let line: Worker["lines"][number];
      try {
        line = JSON.parse(text) as Worker["lines"][number];
      } catch {
        line = { msg: text, level: 50 };
      }
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.re.test(line.msg)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  return {
    child,
    healthPort,
    lines,
    exited,
    waitForLine: (re, from = 0) => {
      const seen = lines.slice(from).find((l) => re.test(l.msg));
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ re, resolve }));
    },
  };
}

/** /readyz's status code, or undefined while nothing listens yet. */
async function readyz(port: number): Promise<number | undefined> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
  } catch {
    return undefined;
  }
}

/** Polls /readyz until it answers `status` (the probe a kubelet would run). */
async function untilReadyz(port: number, status: number): Promise<void> {
  while ((await readyz(port)) !== status) await sleep(100);
}

async function stop(w: Worker): Promise<[number | null, NodeJS.Signals | null]> {
  w.child.kill("SIGTERM");
  return w.exited;
}

const brokerLines = (w: Worker): string[] => w.lines.filter((l) => /broker|queue error|reconnect/i.test(l.msg)).map((l) => l.msg);

// Under DIRACX_TEST_REDIS=cluster the broker of the first two is a Redis Cluster, down and up as a
// whole (every node stopped, then the cluster re-created empty on the same ports).
describe("worker and broker state", () => {
  it("started before Redis: not ready, then ready; an outage gives a few lines, not one per retry", async () => {
    const server = await RedisServer.reserve();
    servers.add(server);
    const w = await startWorker(server.url);
    await w.waitForLine(/cannot reach the broker/);
    await untilReadyz(w.healthPort, 503);
    await server.restart();
    await w.waitForLine(/broker connection restored/);
    await untilReadyz(w.healthPort, 200);

    // An outage: stop redis-server, let the worker retry for a while, start it again.
    const before = w.lines.length;
    await server.stop();
    await untilReadyz(w.healthPort, 503);
    await sleep(5_000); // the outage lasts: ioredis retries many times meanwhile
    await server.restart();
    await untilReadyz(w.healthPort, 200);
    // Ready follows the worker's own connection; the line comes once BullMQ's blocking one is back too.
    await w.waitForLine(/broker connection restored/, before);
    const during = w.lines.slice(before).filter((l) => /broker|queue error|reconnect/i.test(l.msg));
    assert.ok(during.length <= 4, `a few lines per outage, got ${during.length}: ${JSON.stringify(during.map((l) => l.msg))}`);
    assert.ok(during.some((l) => /broker connection lost/.test(l.msg)));
    assert.ok(during.some((l) => /broker connection restored/.test(l.msg)));

    const [code] = await stop(w);
    assert.equal(code, 0);
    assert.ok(brokerLines(w).length <= 6, brokerLines(w).join("\n"));
  });

  it("a transient command error (maxmemory) does not leave it not ready", async () => {
    const server = await RedisServer.start();
    servers.add(server);
    const admin = redisClient(server.url);
    const w = await startWorker(server.url);
    await w.waitForLine(/worker started/);
    await untilReadyz(w.healthPort, 200);
    await admin.set("filler", "x".repeat(100_000));
    // Every write is refused (noeviction): OOM; on each master of a cluster.
    const setMaxmemory = (bytes: string) => Promise.all(masterNodes(admin).map((node) => node.config("SET", "maxmemory", bytes)));
    await setMaxmemory("1");
    await w.waitForLine(/broker command failed/);
    await setMaxmemory("0");
    await untilReadyz(w.healthPort, 200);
    const oom = w.lines.filter((l) => /broker command failed/.test(l.msg));
    assert.match(String(oom[0]!.err), /OOM/);
    assert.ok(!w.lines.some((l) => /broker error/.test(l.msg)));
    const [code] = await stop(w);
    assert.equal(code, 0);
    admin.disconnect();
  });

  // One redis-server with a password, also under DIRACX_TEST_REDIS=cluster (a wrong password is
  // refused alike by every node).
  it("a worker that cannot authenticate stops on SIGTERM", async () => {
    const server = await RedisServer.start({ args: ["--requirepass", "right-password"] });
    servers.add(server);
    const w = await startWorker(`redis://:wrong-password@127.0.0.1:${server.port}`, { DIRACX_LOG_LEVEL: "info" });
    const line = await w.waitForLine(/cannot reach the broker/);
    assert.match(String((line as { cause?: string }).cause), /WRONGPASS/);
    assert.ok(!JSON.stringify(w.lines).includes("wrong-password"), "the password is never logged");
    await untilReadyz(w.healthPort, 503);
    const [code, signal] = await stop(w);
    assert.equal(signal, null, "exits by itself, not killed");
    assert.equal(code, 0);
    assert.ok(w.lines.some((l) => /worker stopped/.test(l.msg)));
  });
});
