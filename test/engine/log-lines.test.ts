// What a real worker process logs, as an operator reads it on stderr: one line for each
// stalled-task recovery and each dead letter, naming the task id; no key twice in a line.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Queue, Worker } from "bullmq";
import { BULL_PREFIX } from "../../src/engine/keys.ts";
import { queueNameFor } from "../../src/engine/priorities.ts";
import { RedisServer, redisClient } from "../support/redis.ts";
import type { BrokerConnection } from "../../src/redis-cluster.ts";
import { waitFor } from "./support.ts";

const root = path.resolve(import.meta.dirname, "../..");
const appRoot = path.join(root, "test/fixtures/engine-app");
const meta = () => ({ firstSubmittedAt: Date.now(), labels: {}, deferrals: 0, history: [] });

/** The top-level keys of one JSON log line, in order, duplicates kept (JSON.parse would drop them). */
export function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let j = i + 1;
      while (line[j] !== '"') j += line[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(line.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === "{" || c === "[") {
      depth += 1;
      expectKey = c === "{" && depth === 1;
    } else if (c === "}" || c === "]") depth -= 1;
    else if (c === "," && depth === 1) expectKey = true;
  }
  return keys;
}

describe("worker log lines (real worker process, real Redis)", () => {
  let server: RedisServer;
  let queue: Queue;
  let redis: BrokerConnection;
  let worker: ChildProcess | undefined;
  const raw: string[] = [];
  const lines = (): Record<string, unknown>[] => raw.map((l) => JSON.parse(l) as Record<string, unknown>);

  const workerEnv = (): NodeJS.ProcessEnv => ({
    ...process.env,
    DIRACX_APP_ROOT: appRoot,
    DIRACX_CONFIG_BACKEND_URL: path.join(appRoot, "diracx-config.yaml"),
    DIRACX_TASKS_REDIS_URL: server.url,
    DIRACX_TASKS_STALLED_INTERVAL_MS: "300",
    DIRACX_LOG_LEVEL: "debug",
    DIRACX_LOG_FORMAT: "json",
  });

  before(async () => {
    server = await RedisServer.start();
    redis = redisClient(server.url, { maxRetriesPerRequest: null }); // a Cluster client on a cluster
    queue = new Queue(queueNameFor("small"), { connection: redis, prefix: BULL_PREFIX });
  });
  after(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill("SIGTERM");
      await once(worker, "exit");
    }
    await queue?.close();
    redis?.disconnect();
    await server?.stop();
  });

  it("a stalled task's recovery, an unknown task's dead letter and a task failing for good are each one line with the task id", async () => {
    // A worker that takes the task and dies (never renews its job lock) before any real worker runs.
    const stallId = "stalled-1";
    await queue.add("test:Recorder", { args: { key: "stall" }, meta: meta() }, { jobId: stallId });
    const dyingConnection = redisClient(server.url, { maxRetriesPerRequest: null });
    const dying = new Worker(queueNameFor("small"), null, { connection: dyingConnection, prefix: BULL_PREFIX, lockDuration: 200, autorun: false });
    assert.equal((await dying.getNextJob("dead-token", { block: false }))?.id, stallId);
    await dying.close(true);
    dyingConnection.disconnect();

    worker = spawn(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), "worker", "--size", "small"], {
      cwd: root,
      env: workerEnv(),
      stdio: ["ignore", "ignore", "pipe"],
    });
    let partial = "";
    worker.stderr!.on("data", (d: Buffer) => {
      const parts = (partial + d.toString()).split("\n");
      partial = parts.pop()!;
      raw.push(...parts.filter(Boolean));
    });

    const recovered = await waitFor("the stalled task's recovery line", () => lines().find((l) => l.taskId === stallId && /worker died/.test(String(l.msg))), 60_000);
    assert.equal(recovered.msg, "task's worker died (job lock expired); put back in its queue");
    await waitFor("the recovered task to complete", async () => (await queue.getJobState(stallId)) === "completed", 60_000);

    const unknownId = "unknown-1";
    await queue.add("test:Gone", { args: {}, meta: meta() }, { jobId: unknownId });
    const submitted = await new Promise<string>((resolve, reject) => {
      const p = spawn(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), "submit", "test:AlwaysFails", "--kwargs", '{"key": "fails"}'], { cwd: root, env: workerEnv(), stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      p.stdout.on("data", (d: Buffer) => (out += d.toString()));
      p.on("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`submit exited ${code}`))));
    });
    const failsId = submitted.split("\n").at(-1)!;
    const finalLine = (id: string) => lines().filter((l) => l.taskId === id && l.msg === "task failed for good");
    await waitFor("both final-failure lines", () => finalLine(unknownId).length > 0 && finalLine(failsId).length > 0, 60_000).catch((err: unknown) => assert.fail(`${String(err)}\n${raw.join("\n")}`));

    const [unknown] = finalLine(unknownId);
    assert.equal(finalLine(unknownId).length, 1, "one line");
    assert.equal(unknown!.task, "test:Gone");
    assert.equal(unknown!.reason, "unknown task");
    assert.equal(unknown!.deadLetter, true);
    const [fails] = finalLine(failsId);
    assert.equal(finalLine(failsId).length, 1, "one line");
    assert.equal(fails!.reason, "no retry left");
    assert.equal(fails!.attempt, 3);
    assert.equal(lines().filter((l) => l.taskId === failsId && l.msg === "task attempt failed; will retry").length, 2, "one line per retried attempt");

    worker.kill("SIGTERM");
    const [code] = (await once(worker, "exit")) as [number | null];
    assert.equal(code, 0);
    // Every line of the run: lifecycle, successes (debug), retries, final failures, recovery, stop.
    assert.ok(raw.length >= 8, raw.join("\n"));
    for (const line of raw) {
      const keys = topLevelKeys(line);
      const repeated = keys.filter((k, i) => keys.indexOf(k) !== i);
      assert.deepEqual(repeated, [], `a key repeated in: ${line}`);
    }
  });
});
