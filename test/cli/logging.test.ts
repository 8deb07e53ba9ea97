// Logging as a user meets it: a bad level, a log reader that went away, repeated keys.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Readable } from "node:stream";
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

// An application with a task that logs its last lines just before `call` prints the result and
// exits: the lines are still being written (or buffered) when the process exits.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "closed-streams-"));
fs.writeFileSync(
  path.join(tmp, "package.json"),
  JSON.stringify({ name: "chatty-app", private: true, type: "module", dependencies: { "diracx-tasks": "*" }, diracx: { entryPoints: { "diracx.tasks.noisy": { ChattyTask: "./tasks.ts:ChattyTask" } } } }),
);
fs.writeFileSync(
  path.join(tmp, "tasks.ts"),
  [
    'import { defineTask, z, type ContextOf } from "diracx-tasks";',
    "export class ChattyTask extends defineTask({ args: z.object({ lines: z.number().int() }) }) {",
    "  async execute(ctx: ContextOf<typeof ChattyTask>) {",
    '    for (let i = 0; i < this.args.lines; i++) ctx.logger.warn({ i }, "chatty");',
    "    return { logged: this.args.lines };",
    "  }",
    "}",
  ].join("\n"),
);
fs.mkdirSync(path.join(tmp, "node_modules"));
fs.symlinkSync(root, path.join(tmp, "node_modules/diracx-tasks"));
fs.writeFileSync(path.join(tmp, "config.yaml"), "Registry:\n  lhcb: {}\n");
const chattyEnv = { ...env, DIRACX_APP_ROOT: tmp, DIRACX_CONFIG_BACKEND_URL: path.join(tmp, "config.yaml") };

describe("logging", () => {
  after(async () => {
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  // `diracx-tasks call … 2>&1 | true`: `true` is gone before the command writes a line, so every
  // write to stdout and stderr gets EPIPE. With pino's sonic-boom destination the exit flush
  // retried that EPIPE forever and the pipeline never ended (this test then timed out).
  for (const sync of ["0", "1"]) {
    it(`a command piped into a reader that has gone (2>&1 | true) exits with its own status (DIRACX_LOG_SYNC=${sync})`, { timeout: 120_000 }, async () => {
      const child = spawn("sh", ["-c", '{ "$0" "$@" 2>&1; echo "exit $?" >&3; } | true', process.execPath, path.join(root, "bin/diracx-tasks.mjs"), "call", "noisy:ChattyTask", "--kwargs", '{"lines": 3}'], {
        cwd: tmp,
        env: { ...chattyEnv, DIRACX_LOG_SYNC: sync },
        stdio: ["ignore", "ignore", "pipe", "pipe"],
      });
      let status = "";
      let stderr = "";
      (child.stdio[3] as Readable).on("data", (d: Buffer) => (status += d.toString()));
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      await once(child, "exit");
      assert.equal(status.trim(), "exit 0", stderr);
    });
  }

  it("a command whose stdout reader leaves after the first line (| head -1) exits, no stack trace", { timeout: 120_000 }, async () => {
    const child = spawn(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), "entrypoints", "--check"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const [first] = (await once(child.stdout, "data")) as [Buffer];
    child.stdout.destroy(); // later lines get EPIPE
    const [code, signal] = (await once(child, "exit")) as [number | null, string | null];
    assert.match(first.toString(), /^ok /);
    assert.equal(signal, null);
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|\n\s+at /, "no stack trace");
  });

  // The same, without tsx (whose esbuild worker pipes into stdout and so happens to catch the
  // error): the compiled CLI's situation. A script under Node's own type stripping writes a line
  // every few milliseconds to a stdout whose reader left; without the CLI's handler it dies on an
  // unhandled EPIPE, with it it finishes with its own status.
  for (const handled of [false, true]) {
    it(`stdout EPIPE without tsx: ${handled ? "tolerateClosedStdout ends the output, not the command" : "an unhandled EPIPE is a stack trace (the case the handler exists for)"}`, { timeout: 120_000 }, async () => {
      const script = path.join(tmp, `stdout-${handled}.mts`);
      fs.writeFileSync(
        script,
        [
          'import { setTimeout as sleep } from "node:timers/promises";',
          `const { tolerateClosedStdout } = await import(${JSON.stringify(path.join(root, "src/logging.ts"))});`,
          handled ? "tolerateClosedStdout();" : "",
          "for (let i = 0; i < 50; i++) { process.stdout.write(`line ${i}\\n`); await sleep(5); }",
          'process.stdout.write("", () => process.exit(3));',
        ].join("\n"),
      );
      const child = spawn(process.execPath, [script], { cwd: tmp, env, stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      await once(child.stdout, "data");
      child.stdout.destroy();
      const [code] = (await once(child, "exit")) as [number | null];
      if (handled) {
        assert.equal(code, 3, stderr);
        assert.equal(stderr, "");
      } else {
        assert.equal(code, 1);
        assert.match(stderr, /Error: write EPIPE/);
      }
    });
  }

  it("a bad DIRACX_LOG_LEVEL is one line and exit 1, not a stack trace", async () => {
    const child = spawn(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), "tasks"], { cwd: root, env: { ...env, DIRACX_LOG_LEVEL: "loud" }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, "exit")) as [number];
    assert.equal(code, 1);
    assert.equal(stderr, "diracx-tasks: invalid settings (LogSettings): DIRACX_LOG_LEVEL: unknown level 'loud' (known: trace, debug, info, warn, error, fatal, silent)\n");
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
