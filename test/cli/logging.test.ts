// Logging as a user meets it: a bad level, a log reader that went away, repeated keys.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { after, describe, it } from "node:test";
import { Queue } from "bullmq";
import { BULL_PREFIX } from "../../src/engine/keys.ts";
import { queueNameFor } from "../../src/engine/priorities.ts";
import { RedisServer } from "../support/redis.ts";
import { waitFor } from "../engine/support.ts";

const root = path.resolve(import.meta.dirname, "../..");
const appRoot = path.join(root, "test/fixtures/engine-app");
const server = await RedisServer.start();
const { DIRACX_LOG_LEVEL: _l, DIRACX_LOG_SYNC: _s, ...baseEnv } = process.env;
const env = {
  ...baseEnv,
  DIRACX_APP_ROOT: appRoot,
  DIRACX_TASKS_REDIS_URL: server.url,
  DIRACX_CONFIG_BACKEND_URL: path.join(appRoot, "diracx-config.yaml"),
  DIRACX_LOG_FORMAT: "json",
};

describe("logging", () => {
  after(async () => {
    await server.stop();
  });

  it("a bad DIRACX_LOG_LEVEL is one line and exit 1, not a stack trace", async () => {
    const child = spawn(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), "tasks"], { cwd: root, env: { ...env, DIRACX_LOG_LEVEL: "loud" }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, "exit")) as [number];
    assert.equal(code, 1);
    assert.equal(stderr, "diracx-tasks: DIRACX_LOG_LEVEL: unknown level 'loud' (known: trace, debug, info, warn, error, fatal, silent)\n");
  });

  for (const sync of ["0", "1"]) {
    it(`a worker whose stderr reader has gone still logs, stops on SIGTERM and exits (DIRACX_LOG_SYNC=${sync})`, async () => {
      const queue = new Queue(queueNameFor("small"), { connection: { url: server.url }, prefix: BULL_PREFIX });
      try {
        const child = spawn(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), "worker", "--size", "small"], {
          cwd: root,
          env: { ...env, DIRACX_LOG_LEVEL: "debug", DIRACX_LOG_SYNC: sync },
          stdio: ["ignore", "ignore", "pipe"],
        });
        child.stderr.destroy(); // the reader goes away: every later write gets EPIPE
        const exited = once(child, "exit");
        await waitFor("the worker to be online", async () => (await queue.getWorkersCount()) > 0, 60_000);
        // A failing task makes the worker log warnings to the closed stream.
        await queue.add("test:AlwaysFails", { args: { key: "epipe" }, meta: { firstSubmittedAt: Date.now(), labels: {}, deferrals: 0, history: [] } });
        await waitFor("the task to fail for good", async () => (await queue.getFailedCount()) > 0, 60_000);
        child.kill("SIGTERM");
        const [code, signal] = (await exited) as [number | null, string | null];
        assert.equal(signal, null, "exited by itself, not killed");
        assert.equal(code, 0);
      } finally {
        await queue.obliterate({ force: true });
        await queue.close();
      }
    });
  }

  it("a child logger re-binding a key replaces it (no repeated keys in a line)", async () => {
    const script = [
      `const { logger } = await import(${JSON.stringify(path.join(root, "src/logging.ts"))});`,
      `logger.child({ component: "scheduler" }).child({ component: "broker-lifecycle", hook: "h" }).warn("x");`,
    ].join("\n");
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: root, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    await once(child, "exit");
    const line = stderr.trim();
    assert.equal(line.match(/"component"/g)?.length, 1, line);
    assert.equal((JSON.parse(line) as { component: string }).component, "broker-lifecycle");
    assert.match(line, /"hook":"h"/);
  });
});
