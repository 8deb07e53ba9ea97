// Health listeners of real worker and scheduler processes, over real HTTP, on a private Redis.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { freePort } from "../support/ports.ts";
import { RedisServer } from "../support/redis.ts";
import { waitFor } from "../engine/support.ts";
import { LockManager, MutexLock } from "../../src/locks/index.ts";
import { cliWith, get, sample, STARTUP_MS } from "./support.ts";

const root = path.resolve(import.meta.dirname, "../..");
const server = await RedisServer.start();
// The scheduler reads the configuration (periodic schedules are per VO).
const configDir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-health-"));
fs.writeFileSync(path.join(configDir, "default.yml"), "Registry:\n  lhcb: {}\n");
const env = {
  DIRACX_CONFIG_BACKEND_URL: configDir,
  ...process.env,
  DIRACX_APP_ROOT: path.join(root, "test/fixtures/engine-app"),
  DIRACX_TASKS_REDIS_URL: server.url,
  DIRACX_LOG_LEVEL: "warn",
  DIRACX_LOG_FORMAT: "json",
};
const { run: cli, start, stop, stopAll } = cliWith(env);

async function submit(task: string, kwargs: object): Promise<void> {
  const r = await cli(["submit", task, "--kwargs", JSON.stringify(kwargs)]);
  assert.equal(r.code, 0, r.stderr);
}

after(async () => {
  await stopAll();
  await server.stop();
  fs.rmSync(configDir, { recursive: true, force: true });
});

describe("observability: health listeners", () => {
  it("a worker's /metrics counts the tasks it ran, by task, size and priority", async () => {
    const port = await freePort();
    const worker = start(["worker", "--size", "small", "--concurrency", "2", "--health-port", String(port)]);
    await waitFor("worker ready", async () => (await get(port, "/readyz"))?.status === 200, STARTUP_MS);
    assert.equal((await get(port, "/healthz"))?.status, 200);
    await submit("test:Recorder", { key: "m1" });
    await submit("test:Recorder", { key: "m2" });
    await submit("test:AlwaysFails", { key: "m3" });
    const labels = (task: string) => ({ task, size: "small", priority: "normal" });
    const text = await waitFor("counters of the tasks run", async () => {
      const body = (await get(port, "/metrics"))?.body ?? "";
      return sample(body, "diracx_tasks_completed_total", labels("test:Recorder")) === 2 && sample(body, "diracx_tasks_failed_total", labels("test:AlwaysFails")) === 1 ? body : undefined;
    }, 60_000);
    assert.equal(sample(text, "diracx_tasks_retried_total", labels("test:AlwaysFails")), 2, "two retries before the final failure");
    const completed = { ...labels("test:Recorder"), outcome: "completed" };
    assert.equal(sample(text, "diracx_tasks_duration_seconds_count", completed), 2);
    assert.equal(sample(text, "diracx_tasks_duration_seconds_bucket", { ...completed, le: "+Inf" }), 2, "every attempt is in the +Inf bucket");
    assert.equal(sample(text, "diracx_tasks_duration_seconds_bucket", { ...completed, le: "3600" }), 2, "buckets are cumulative");
    assert.ok((sample(text, "diracx_tasks_duration_seconds_sum", completed) ?? 0) > 0, "the attempts' total duration");
    assert.equal(sample(text, "diracx_tasks_duration_seconds_count", { ...labels("test:AlwaysFails"), outcome: "failed" }), 3, "three failed attempts");
    assert.match(text, /^# TYPE diracx_tasks_duration_seconds histogram$/m);
    assert.match(text, /^process_cpu_user_seconds_total /m, "default process metrics are served");
    // Queue-level gauges come from the scheduler only.
    assert.doesNotMatch(text, /diracx_tasks_queue_depth/);
    await stop(worker);
  });

  it("a task that waited for its lock shows the wait in diracx_tasks_lock_wait_seconds", async () => {
    const redis = new Redis(server.url, { maxRetriesPerRequest: null });
    const locks = new LockManager(redis);
    const held = await locks.acquireAll([new MutexLock("task", "Exclusive", "lw")], "the-test", 60_000);
    assert.ok(held.acquired);
    const port = await freePort();
    // Short deferrals, so the task comes back soon after the lock is free.
    const worker = start(["worker", "--size", "small", "--health-port", String(port)], { DIRACX_TASKS_DEFERRAL_BASE_MS: "50", DIRACX_TASKS_DEFERRAL_MAX_MS: "200" });
    await waitFor("worker ready", async () => (await get(port, "/readyz"))?.status === 200, STARTUP_MS);
    await submit("test:Exclusive", { key: "lw", sleepMs: 0 });
    const labels = { task: "test:Exclusive", size: "small", priority: "normal" };
    await waitFor("deferred while the lock is held", async () => (sample((await get(port, "/metrics"))?.body ?? "", "diracx_tasks_deferred_total", labels) ?? 0) >= 2, 60_000);
    await locks.releaseAll(held.held);
    const text = await waitFor("completed once the lock is free", async () => {
      const body = (await get(port, "/metrics"))?.body ?? "";
      return sample(body, "diracx_tasks_completed_total", labels) === 1 ? body : undefined;
    }, 60_000);
    assert.equal(sample(text, "diracx_tasks_lock_wait_seconds_count", labels), 1, "one wait observed, when the task got its lock");
    assert.ok((sample(text, "diracx_tasks_lock_wait_seconds_sum", labels) ?? 0) > 0, "the time it waited");
    assert.equal(sample(text, "diracx_tasks_lock_wait_seconds_count", { task: "test:Recorder", size: "small", priority: "normal" }), undefined, "a task that never waited observes nothing");
    redis.disconnect();
    await stop(worker);
  });

  it("/readyz turns 503 when Redis stops and 200 when it is back", async () => {
    const port = await freePort();
    const worker = start(["worker", "--size", "small", "--health-port", String(port)]);
    await waitFor("worker ready", async () => (await get(port, "/readyz"))?.status === 200, STARTUP_MS);
    await server.stop();
    const down = await waitFor("readyz 503", async () => {
      const r = await get(port, "/readyz");
      return r?.status === 503 ? r : undefined;
    });
    assert.match(down.body, /not ready/);
    assert.equal((await get(port, "/healthz"))?.status, 200, "still alive while Redis is away");
    await server.restart();
    await waitFor("readyz 200 again", async () => (await get(port, "/readyz"))?.status === 200, 60_000);
    await stop(worker);
  });

  it("the scheduler's queue gauges match status --json", async () => {
    for (let i = 0; i < 3; i++) await submit("test:Recorder", { key: `q${i}` });
    await submit("test:Realtime", { key: "q", n: 1 });
    await submit("test:Background", { key: "q", n: 2 });
    const port = await freePort();
    const scheduler = start(["scheduler", "--health-port", String(port)]);
    await waitFor("scheduler ready", async () => (await get(port, "/readyz"))?.status === 200, STARTUP_MS);
    const status = await cli(["status", "--json"]);
    assert.equal(status.code, 0, status.stderr);
    const metrics = (await get(port, "/metrics"))?.body ?? "";
    const { queues, deadLetters } = JSON.parse(status.stdout) as {
      queues: { size: string; waiting: Record<string, number>; oldestWaitingSeconds: Record<string, number | null>; delayed: number; running: number; failed: number; completed: number; workers: number }[];
      deadLetters: { outbox: number };
    };
    const small = queues.find((q) => q.size === "small");
    assert.ok(small && small.waiting.normal! >= 3, "the tasks submitted wait in the small queue");
    for (const q of queues) {
      for (const [priority, n] of Object.entries(q.waiting)) assert.equal(sample(metrics, "diracx_tasks_queue_depth", { size: q.size, priority, state: "waiting" }), n, `${q.size}/${priority}`);
      for (const state of ["delayed", "running", "failed", "completed"] as const) assert.equal(sample(metrics, "diracx_tasks_queue_depth", { size: q.size, priority: "any", state }), q[state], `${q.size}/${state}`);
      assert.equal(sample(metrics, "diracx_tasks_workers", { size: q.size }), q.workers);
      for (const [priority, age] of Object.entries(q.oldestWaitingSeconds)) {
        const g = sample(metrics, "diracx_tasks_oldest_waiting_seconds", { size: q.size, priority }) as number;
        // Read a moment apart: the same task, so the same age up to the time between the reads.
        if (age === null) assert.equal(g, 0);
        else assert.ok(Math.abs(g - age) < 30, `${q.size}/${priority}: ${g} vs ${age}`);
      }
    }
    assert.match(metrics, new RegExp(`^diracx_tasks_dead_letter_outbox ${deadLetters.outbox}$`, "m"));
    await stop(scheduler);
  });
});
