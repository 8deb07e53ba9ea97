// Limits and retry overrides set in the tasks configuration apply to running tasks (upstream parsed that
// configuration and never applied it), and `locks list` shows what running tasks hold.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { RedisServer, redisClient } from "../support/redis.ts";
import { runs, waitFor, waitForJob } from "./support.ts";

const repo = path.resolve(import.meta.dirname, "../..");
const appRoot = path.join(repo, "test/fixtures/engine-app");
const server = await RedisServer.start();
const configDir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-limits-"));
fs.writeFileSync(
  path.join(configDir, "default.yml"),
  [
    "Registry:",
    "  lhcb: {}",
    "Tasks:",
    "  common:",
    '    "test:Recorder":',
    "      limits:",
    "        concurrency: { limit: 1 }",
    '    "test:AlwaysFails":',
    "      retry: { maxRetries: 1 }",
    "",
  ].join("\n"),
);
process.env.DIRACX_TASKS_REDIS_URL = server.url;
process.env.DIRACX_CONFIG_BACKEND_URL = configDir;
const { createEngine, engineWorkerOptions } = await import("../../src/engine/wiring.ts");
const { TaskWorker } = await import("../../src/engine/worker.ts");
const fixture = await import("../fixtures/engine-app/tasks.ts");

const redis = redisClient(server.url, { maxRetriesPerRequest: null });
let engine: Awaited<ReturnType<typeof createEngine>>;
let worker: InstanceType<typeof TaskWorker>;

before(async () => {
  engine = await createEngine({ appRoot });
  assert.ok(engine.limitsFor, "the engine reads limits from the configuration");
  worker = new TaskWorker({
    size: "small",
    concurrency: 4,
    ...engineWorkerOptions(engine),
    timings: { baseDeferralMs: 20, maxDeferralMs: 200 },
  });
  await worker.start();
});

after(async () => {
  await worker.close(1_000);
  await engine.close();
  fixture.closeRecorder();
  redis.disconnect();
  await server.stop();
  fs.rmSync(configDir, { recursive: true, force: true });
});

test("a concurrency limit from the configuration holds back tasks while one runs, and locks list names the holder", async () => {
  // Long enough to still be running when the CLI below (a fresh process) lists the locks.
  const longId = await engine.producer.submit("test:Recorder", { key: "limited", sleepMs: 6000 });
  await waitFor("the long task to start", async () => (await runs(redis, "limited")).some((r) => r.taskId === longId));
  const shortIds = [
    await engine.producer.submit("test:Recorder", { key: "limited", sleepMs: 10 }),
    await engine.producer.submit("test:Recorder", { key: "limited", sleepMs: 10 }),
  ];

  // While the long task runs, the operator's listing shows its concurrency slot, held by it.
  // Asynchronously: the worker runs in this process and must keep taking (and deferring) tasks meanwhile.
  const listed = await promisify(execFile)(process.execPath, [path.join(repo, "bin/diracx-tasks.mjs"), "locks", "list", "--json"], {
    env: { ...process.env, DIRACX_TASKS_REDIS_URL: server.url },
    encoding: "utf8",
  });
  const infos = JSON.parse(listed.stdout) as { type: string; objectType: string; key: string; holders: { taskId?: string; taskName?: string }[] }[];
  const slot = infos.find((i) => i.objectType === "task" && i.key === "Recorder" && i.type.includes("conc"));
  assert.ok(slot, `the task's concurrency limiter is listed: ${listed.stdout}`);
  assert.deepEqual(
    slot.holders.map((h) => [h.taskId, h.taskName]),
    [[longId, "test:Recorder"]],
  );

  for (const id of [longId, ...shortIds]) assert.equal((await waitForJob(engine.producer.queue("small"), id)).finishedOn !== undefined, true);
  const records = await runs(redis, "limited");
  const longEnd = records.find((r) => r.taskId === longId && r.phase === "end")!;
  for (const id of shortIds) {
    const start = records.find((r) => r.taskId === id && r.phase === "start");
    assert.ok(start, `${id} ran`);
    assert.ok(start.at >= longEnd.at, "a held-back task starts only after the running one has finished");
    const job = await engine.producer.queue("small").getJob(id);
    assert.ok((job?.data.meta.deferrals ?? 0) >= 1, "it was deferred, not failed");
    assert.equal(job?.attemptsMade, 1, "deferrals do not count as attempts");
  }
});

test("a retry override from the configuration replaces the task's own retry count", async () => {
  // test:AlwaysFails declares maxRetries 2 (3 executions); the configuration says 1.
  const id = await engine.producer.submit("test:AlwaysFails", { key: "overridden" });
  const job = await waitForJob(engine.producer.queue("small"), id, ["failed"]);
  assert.equal(job.attemptsMade, 2);
  assert.deepEqual((await runs(redis, "overridden")).map((r) => r.attempt), [1, 2]);
});
