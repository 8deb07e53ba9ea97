import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, test } from "node:test";
import { Redis } from "ioredis";
import { pino } from "pino";
import { RedisChildError, RedisServerMissingError, startRedisChild } from "../../src/dev/redis-child.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-redis-child-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const quiet = pino({ level: "silent" });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Bounded poll for a condition that another process brings about. */
async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function connects(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

describe("startRedisChild", () => {
  test("starts a redis-server that answers, stops it, and keeps its data for the next start", async () => {
    const dataDir = path.join(tmp, "persist", ".diracx-dev", "redis");
    const first = await startRedisChild({ dataDir, stopOnSignals: false, logger: quiet });
    assert.match(first.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
    const client = new Redis(first.url);
    assert.equal(await client.ping(), "PONG");
    assert.equal(await client.config("GET", "maxmemory-policy").then((r) => (r as string[])[1]), "noeviction");
    await client.set("dev:key", "kept");
    client.disconnect();

    await first.stop();
    await first.stop(); // idempotent
    assert.equal(alive(first.pid), false);
    assert.equal(await connects(first.port), false);
    assert.ok(fs.readdirSync(dataDir).length > 0, "redis wrote its data under the data dir");

    const second = await startRedisChild({ dataDir, stopOnSignals: false, logger: quiet });
    const again = new Redis(second.url);
    assert.equal(await again.get("dev:key"), "kept");
    again.disconnect();
    await second.stop();
  });

  test("a missing redis-server is one clear error with the way out", async () => {
    await assert.rejects(
      startRedisChild({ dataDir: path.join(tmp, "missing"), command: "redis-server-not-installed-here", logger: quiet }),
      (e: unknown) =>
        e instanceof RedisServerMissingError &&
        e.message.includes("'redis-server-not-installed-here' was not found on PATH") &&
        e.message.includes("apt-get install redis-server") &&
        e.message.includes("DIRACX_TASKS_REDIS_URL") &&
        !e.message.includes("\n"),
    );
  });

  test("a fixed port already in use is reported with redis's own reason", async () => {
    const blocker = net.createServer();
    blocker.listen(0, "127.0.0.1");
    await once(blocker, "listening");
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await assert.rejects(
        startRedisChild({ dataDir: path.join(tmp, "busy"), port, stopOnSignals: false, logger: quiet }),
        (e: unknown) => e instanceof RedisChildError && e.message.includes(`port ${port}`) && /address already in use/i.test(e.message),
      );
    } finally {
      blocker.close();
    }
  });
});

describe("redis child lifetime with its parent", () => {
  async function runScript(mode: "wait" | "exit"): Promise<{ proc: ReturnType<typeof spawn>; pid: number; port: number }> {
    const script = path.join(import.meta.dirname, "fixtures", "redis-child-script.ts");
    const proc = spawn(process.execPath, ["--import", "tsx", script, path.join(tmp, `script-${mode}`), mode], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, DIRACX_LOG_LEVEL: "silent" },
    });
    const [line] = (await once(readline.createInterface({ input: proc.stdout! }), "line")) as [string];
    const { pid, port } = JSON.parse(line) as { pid: number; port: number };
    return { proc, pid, port };
  }

  test("Ctrl-C (SIGINT) stops redis-server before the parent exits", async () => {
    const { proc, pid, port } = await runScript("wait");
    assert.equal(alive(pid), true);
    assert.equal(await connects(port), true);
    const exited = once(proc, "exit");
    proc.kill("SIGINT");
    const [code] = (await exited) as [number | null];
    assert.equal(code, 130);
    // stop() awaited redis-server's exit before the parent exited.
    assert.equal(alive(pid), false);
  });

  test("a parent that exits without stopping still takes redis-server down", async () => {
    const { proc, pid } = await runScript("exit");
    if (proc.exitCode === null) await once(proc, "exit");
    // The exit hook sent SIGTERM; redis finishes writing and exits on its own.
    await until(`redis-server pid ${pid} to exit`, () => !alive(pid));
  });
});
