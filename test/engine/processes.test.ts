// Real worker processes (`node bin/diracx-tasks.mjs worker`) on a private Redis.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Queue } from "bullmq";
import { BULL_PREFIX } from "../../src/redis-keys.ts";
import { RedisServer, redisClient } from "../support/redis.ts";
import { runs, waitFor, waitForJob, type RunRecord } from "./support.ts";

const root = path.resolve(import.meta.dirname, "../..");
const appRoot = path.join(root, "test/fixtures/engine-app");
const server = await RedisServer.start();

const env = {
  ...process.env,
  DIRACX_APP_ROOT: appRoot,
  DIRACX_CONFIG_BACKEND_URL: path.join(appRoot, "diracx-config.yaml"),
  DIRACX_TASKS_REDIS_URL: server.url,
  DIRACX_LOG_LEVEL: "warn",
  DIRACX_LOG_FORMAT: "json",
  // Short job lock so a killed worker's task is recovered quickly; task locks likewise.
  DIRACX_TASKS_JOB_LOCK_MS: "1000",
  DIRACX_TASKS_STALLED_INTERVAL_MS: "500",
  DIRACX_TASKS_LOCK_TTL_MS: "1500",
  DIRACX_TASKS_DEFERRAL_BASE_MS: "50",
  DIRACX_TASKS_DEFERRAL_MAX_MS: "300",
};

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

const workers = new Set<ChildProcess>();
function startWorker(extra: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), "worker", "--size", "small", "--concurrency", "2", ...extra], {
    cwd: root,
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
  workers.add(child);
  child.on("exit", () => workers.delete(child));
  return child;
}

async function stopWorker(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill(signal);
  await exited;
}

function overlaps(recs: RunRecord[]): boolean {
  const spans = new Map<string, { start: number; end: number }>();
  for (const r of recs) {
    const s = spans.get(`${r.taskId}/${r.attempt}`) ?? { start: 0, end: Infinity };
    if (r.phase === "start") s.start = r.at;
    else s.end = r.at;
    spans.set(`${r.taskId}/${r.attempt}`, s);
  }
  const list = [...spans.values()].sort((a, b) => a.start - b.start);
  return list.some((s, i) => i > 0 && s.start < (list[i - 1] as { end: number }).end);
}

describe("engine: real worker processes", () => {
  const redis = redisClient(server.url, { maxRetriesPerRequest: null });
  const queueConnection = redisClient(server.url, { maxRetriesPerRequest: null });
  const queue = new Queue("tasks-small", { connection: queueConnection, prefix: BULL_PREFIX });
  // The Redis restart test drops these connections on purpose; they reconnect.
  for (const emitter of [queue, redis, queueConnection] as NodeJS.EventEmitter[]) emitter.on("error", () => {});
  const submit = async (task: string, kwargs: object): Promise<string> => {
    const r = await cli(["submit", task, "--kwargs", JSON.stringify(kwargs)]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split("\n").at(-1) as string;
  };

  before(async () => {
    startWorker();
    startWorker();
    await waitFor("two workers online", async () => (await queue.getWorkersCount()) >= 2, 30_000);
  });
  after(async () => {
    for (const w of [...workers]) await stopWorker(w, "SIGKILL");
    await queue.close();
    queueConnection.disconnect();
    redis.disconnect();
    await server.stop();
  });

  /**
   * Each task started once, plus once per time BullMQ presumed its worker dead (its job lock
   * ran out: on a starved machine a live worker can miss a 1 s renewal, and at-least-once
   * delivery then runs it again; the job's stalled counter says how often that happened).
   */
  async function assertRanOncePerDelivery(ids: string[], recs: RunRecord[]): Promise<void> {
    for (const id of ids) {
      const job = await queue.getJob(id);
      const starts = recs.filter((r) => r.phase === "start" && r.taskId === id).length;
      assert.equal(starts, 1 + (job?.stalledCounter ?? 0), `task ${id} ran once per delivery`);
    }
  }

  it("`submit` prints the task id and `call` prints the result as JSON on its last line", async () => {
    const id = await submit("test:Recorder", { key: "cli-submit" });
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(await (await waitForJob(queue, id)).getState(), "completed");
    const r = await cli(["call", "test:Recorder", "--args", JSON.stringify(["cli-call"]), "--kwargs", JSON.stringify({ value: { n: 7 } })]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1) as string), { n: 7 });
    assert.equal((await runs(redis, "cli-call")).length, 2);
  });

  it("`call` of an unknown task fails with one line naming close tasks", async () => {
    const r = await cli(["call", "test:Exclusiv"]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), "diracx-tasks: unknown task 'test:Exclusiv'; did you mean 'test:Exclusive'?");
  });

  it("`status --json` reports queue depths, workers online and dead letters", async () => {
    const r = await cli(["status", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const status = JSON.parse(r.stdout) as {
      queues: { size: string; waiting: Record<string, number>; workers: number }[];
      deadLetters: { pending: number | null; outbox: number };
    };
    assert.deepEqual(status.queues.map((s) => s.size), ["small", "medium", "large"]);
    assert.equal(status.queues[0]?.workers, 2);
    assert.deepEqual(Object.keys(status.queues[0]?.waiting ?? {}), ["realtime", "normal", "background"]);
    // No TaskDB configured here: the count is unknown (null), the Redis outbox is empty.
    assert.deepEqual(status.deadLetters, { pending: null, outbox: 0 });
  });

  it("a mutex is never held by two worker processes at once", async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, () => submit("test:Exclusive", { key: "mutex", sleepMs: 100 })));
    for (const id of ids) assert.equal(await (await waitForJob(queue, id, ["completed", "failed"], 40_000)).getState(), "completed");
    const recs = await runs(redis, "mutex");
    await assertRanOncePerDelivery(ids, recs);
    assert.equal(overlaps(recs), false);
  });

  it("a task running longer than the job lock runs exactly once", async () => {
    const id = await submit("test:Recorder", { key: "long", sleepMs: 3_000 });
    const job = await waitForJob(queue, id, ["completed", "failed"], 30_000);
    assert.equal(await job.getState(), "completed");
    await assertRanOncePerDelivery([id], await runs(redis, "long"));
  });

  it("a task whose worker is SIGKILLed is re-run by another worker once its lock expires", async () => {
    const id = await submit("test:Exclusive", { key: "killed", sleepMs: 4_000 });
    const first = await waitFor("task started", async () => (await runs(redis, "killed"))[0]);
    const victim = [...workers].find((w) => w.pid === first.pid);
    assert.ok(victim, "the task runs in one of our workers");
    await stopWorker(victim, "SIGKILL");
    startWorker(); // keep two workers for the next tests
    const job = await waitForJob(queue, id, ["completed", "failed"], 40_000);
    assert.equal(await job.getState(), "completed");
    const recs = await runs(redis, "killed");
    const starts = recs.filter((r) => r.phase === "start");
    assert.equal(starts.length, 2);
    assert.notEqual(starts[1]?.pid, first.pid);
    assert.equal(overlaps(recs), false, "the rerun waited for the dead worker's mutex to expire");
  });

  it("workers keep working after a Redis restart", async () => {
    await server.restart();
    const id = await submit("test:Recorder", { key: "after-restart" });
    assert.equal(await (await waitForJob(queue, id, ["completed", "failed"], 40_000)).getState(), "completed");
  });

  it("SIGTERM puts a task still running at the deadline back in the queue without counting an attempt", async () => {
    const w = startWorker(["--shutdown-timeout", "0.3"]);
    await waitFor("three workers", async () => (await queue.getWorkersCount()) >= 3, 30_000);
    // Stop the others so the new worker takes the task.
    for (const other of [...workers]) if (other !== w) await stopWorker(other, "SIGTERM");
    const id = await submit("test:Recorder", { key: "drain", sleepMs: 30_000 });
    await waitFor("task started", async () => (await runs(redis, "drain"))[0]);
    await stopWorker(w, "SIGTERM");
    const job = await waitForJob(queue, id, ["wait", "prioritized"], 10_000);
    assert.equal(job.attemptsMade, 0);
    assert.equal(job.data.meta.history.at(-1)?.outcome, "requeued");
  });
});
