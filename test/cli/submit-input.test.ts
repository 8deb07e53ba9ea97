// What `submit` refuses, as the user sees it: one line naming what is wrong, exit 1, nothing enqueued.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { after, describe, it } from "node:test";
import { Queue } from "bullmq";
import { BULL_PREFIX } from "../../src/engine/keys.ts";
import { queueNameFor } from "../../src/engine/priorities.ts";
import { z } from "zod";
import { RedisServer } from "../support/redis.ts";

const root = path.resolve(import.meta.dirname, "../..");
const appRoot = path.join(root, "test/fixtures/engine-app");
const server = await RedisServer.start();
const { DIRACX_CONFIG_BACKEND_URL: _c, ...baseEnv } = process.env;
const { InvalidTaskArgsError, defineTask } = await import("../../src/index.ts");
const { validateArgs } = await import("../../src/entries/ops.ts");

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), ...args], {
    cwd: root,
    env: { ...baseEnv, DIRACX_APP_ROOT: appRoot, DIRACX_TASKS_REDIS_URL: server.url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

describe("submit: strict input", () => {
  const queue = new Queue(queueNameFor("small"), { connection: { url: server.url }, prefix: BULL_PREFIX });
  after(async () => {
    await queue.close();
    await server.stop();
  });

  it("a misspelt --kwargs field is refused, naming it and the task's fields", async () => {
    const r = await cli("submit", "test:Recorder", "--kwargs", '{"key":"a","sleepMS":5}');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "diracx-tasks: invalid arguments for task 'test:Recorder': unknown field 'sleepMS' (fields: key, sleepMs, value)\n");
    assert.equal(await queue.count(), 0);
  });

  it("--delay with --at is refused", async () => {
    const r = await cli("submit", "test:Recorder", "--kwargs", '{"key":"a"}', "--delay", "5", "--at", new Date().toISOString());
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "diracx-tasks: submit: give --delay or --at, not both\n");
    assert.equal(await queue.count(), 0);
  });

  it("validateArgs (the one check the CLI, the producer and HTTP submit share) keeps a schema's own policy", () => {
    class Strip extends defineTask({ args: z.object({ a: z.string() }) }) {
      async execute() {}
    }
    class Loose extends defineTask({ args: z.looseObject({ a: z.string() }) }) {
      async execute() {}
    }
    assert.throws(() => validateArgs("t:Strip", Strip, { a: "x", b: 1, c: 2 }), (e: Error) => e instanceof InvalidTaskArgsError && /unknown fields 'b', 'c' \(fields: a\)/.test(e.message));
    assert.deepEqual(validateArgs("t:Loose", Loose, { a: "x", b: 1 }), { a: "x", b: 1 });
  });
});
