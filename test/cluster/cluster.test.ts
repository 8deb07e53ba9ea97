// The whole system on a local 3-master Redis Cluster (six `redis-server --cluster-enabled yes`
// processes), reached through DIRACX_TASKS_REDIS_URL=redis+cluster://…: tasks with locks and a
// fan-out on a worker, a schedule firing, lock listing and old-layout cleanup across masters,
// and `dev --until-done`. (`npm run test:cluster` runs the engine, lock and scheduler suites on
// a cluster as well.)
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { isCluster, masterNodes, scanKeys } from "../../src/redis-cluster.ts";
import { RedisCluster } from "../support/redis-cluster.ts";
import { redisClient } from "../support/redis.ts";
import { runs, waitFor } from "../engine/support.ts";
import { periodic, recordingWorker, type Run } from "../scheduler/support.ts";
import type { FanoutHandle } from "../../src/index.ts";

const root = path.resolve(import.meta.dirname, "../..");
const bin = path.join(root, "bin/diracx-tasks.mjs");
const cluster = await RedisCluster.start();
process.env.DIRACX_TASKS_REDIS_URL = cluster.url;
const { LockManager, MutexLock } = await import("../../src/index.ts");
const { Producer, TaskRegistry, TaskWorker } = await import("../../src/entries/ops.ts");
const { openNoDependencies } = await import("../../src/engine/execution.ts");
const { Scheduler } = await import("../../src/scheduler/scheduler.ts");
const { computeDesiredSchedules } = await import("../../src/scheduler/desired.ts");
const { BrokerLifecycle } = await import("../../src/scheduler/broker-lifecycle.ts");
const fixture = await import("../fixtures/dlq-app/tasks.ts");

const redis = redisClient(cluster.url, { maxRetriesPerRequest: null });
after(async () => {
  redis.disconnect();
  fixture.closeRecorder();
  await cluster.stop();
});

test("the cluster has three masters, and the client reaches each", async () => {
  assert.ok(isCluster(redis));
  assert.equal(await redis.ping(), "PONG");
  const masters = masterNodes(redis);
  assert.equal(masters.length, 3);
  for (const node of masters) assert.match(await node.cluster("INFO"), /cluster_state:ok/);
});

describe("engine on the cluster", () => {
  const registry = TaskRegistry.fromClasses(fixture.taskClasses);
  const producer = new Producer({ connection: cluster.url, registry });
  const locks = new LockManager(redis);
  const workers: InstanceType<typeof TaskWorker>[] = [];
  const callbackRuns = async (key: string): Promise<{ outcomes: { status: string; result: unknown }[] }[]> =>
    (await redis.lrange(`callback:${key}`, 0, -1)).map((s) => JSON.parse(s) as { outcomes: { status: string; result: unknown }[] });
  const callbackDone = (handle: FanoutHandle): Promise<string> =>
    waitFor(`callback ${handle.callbackTaskId} finished`, async () => {
      const state = await producer.queue("medium").getJobState(handle.callbackTaskId);
      return state === "completed" || state === "failed" ? state : undefined;
    });

  before(async () => {
    for (const size of ["small", "medium", "large"] as const) {
      const w = new TaskWorker({
        size,
        concurrency: 4,
        connection: cluster.url,
        registry,
        submitter: producer,
        openUnitOfWork: openNoDependencies,
        lockManager: locks,
        timings: { baseDeferralMs: 20, maxDeferralMs: 100 },
      });
      workers.push(w);
      await w.start();
    }
  });
  after(async () => {
    for (const w of workers) await w.close(1_000);
    await producer.close();
  });

  test("a task deferred by a held mutex runs once it is released, and `locks list` shows the holder", async () => {
    const res = await locks.acquireAll([new MutexLock("task", "fanout-lock")], "operator", 60_000, { holder: { taskId: "op-1", taskName: "test:Operator" } });
    assert.equal(res.acquired, true);
    const listed = await promisify(execFile)(process.execPath, [bin, "locks", "list", "--json"], { cwd: root, env: { ...process.env, DIRACX_TASKS_REDIS_URL: cluster.url }, encoding: "utf8" });
    const infos = JSON.parse(listed.stdout) as { redisKey: string; holders: { taskId?: string }[] }[];
    assert.deepEqual(
      infos.map((i) => [i.redisKey, i.holders.map((h) => h.taskId)]),
      [["{diracx}:lock:mutex:task:fanout-lock", ["op-1"]]],
    );

    const handle = await producer.spawnWithCallback([new fixture.LockedLeaf({ key: "locked" })], new fixture.Collect({ key: "locked" }));
    await waitFor("the locked child deferred twice", async () => ((await producer.queue("small").getJob(handle.childTaskIds[0]!))?.data.meta.deferrals ?? 0) >= 2);
    assert.deepEqual(await runs(redis, "locked"), [], "the child did not run while the mutex was held");
    if (res.acquired) await locks.releaseAll(res.held);
    assert.equal(await callbackDone(handle), "completed");
    assert.deepEqual(
      (await callbackRuns("locked")).map((r) => r.outcomes.map((o) => [o.status, o.result])),
      [[["completed", "locked-done"]]],
    );
  });

  test("a fan-out across sizes: children in their own queues, the callback sees every outcome", async () => {
    const parentId = await producer.submit("fan:Parent", { key: "p", count: 3, failIndex: 1 });
    const handle = await waitFor("the parent completed", async () => {
      const job = await producer.queue("small").getJob(parentId);
      return job?.finishedOn ? (job.returnvalue as FanoutHandle) : undefined;
    });
    assert.equal(await callbackDone(handle), "completed");
    const [cb] = await callbackRuns("p");
    assert.deepEqual(
      cb!.outcomes.map((o) => o.status),
      ["completed", "failed", "completed", "completed"],
    );
  });
});

test("a periodic schedule fires on the cluster", async () => {
  const fired: Run[] = [];
  const worker = recordingWorker(cluster.url, "tasks-small", fired);
  const schedulerRedis = redisClient(cluster.url, { maxRetriesPerRequest: null });
  const scheduler = new Scheduler({
    redis: schedulerRedis,
    desired: () => computeDesiredSchedules([periodic("demo:EverySecond", { kind: "interval", seconds: 1 })], { vos: [], tasksConfig: undefined }),
  });
  try {
    await scheduler.start();
    const got = await waitFor("two runs of the schedule", () => (fired.filter((r) => r.schedule === "demo:EverySecond").length >= 2 ? fired : undefined));
    assert.ok(got.every((r) => r.startedAt >= r.nominal));
  } finally {
    await scheduler.stop();
    await worker.close();
    schedulerRedis.disconnect();
  }
});

test("keys of the old layout, spread over every master, are all dropped on a fresh broker", async () => {
  await redis.del("{diracx}:broker:epoch");
  const old = Array.from({ length: 30 }, (_, i) => `diracx:tasks-small:old-${i}`);
  for (const k of old) await redis.set(k, "1");
  let holders = 0;
  for (const node of masterNodes(redis)) if ((await node.dbsize()) > 0) holders++;
  assert.ok(holders >= 2, "the old keys live on more than one master");
  const check = await new BrokerLifecycle(redis, { hooks: [] }).check();
  assert.equal(check.fresh, true);
  const left: string[] = [];
  for await (const { keys } of scanKeys(redis, "diracx:*")) left.push(...keys);
  assert.deepEqual(left, []);
});

let devProcess: ChildProcess | undefined;
after(() => {
  // Also when the test timed out: no dev stack outlives this file.
  if (devProcess && devProcess.exitCode === null && devProcess.signalCode === null) devProcess.kill("SIGKILL");
});

// Bounded: dev's own --timeout plus its shutdown, so a stack that does not stop fails the test.
test("`dev --until-done` on the cluster brings the demo jobs to Done", { timeout: 240_000 }, async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-dev-cluster-"));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("DIRACX_") && k !== "NODE_TEST_CONTEXT") env[k] = v;
  const proc = (devProcess = spawn(process.execPath, [bin, "dev", "--port", "0", "--until-done", "--data-dir", dataDir, "--timeout", "120"], {
    cwd: root,
    env: { ...env, DIRACX_LOG_FORMAT: "json", DIRACX_TASKS_REDIS_URL: cluster.url },
    stdio: ["ignore", "pipe", "pipe"],
  }));
  const lines: string[] = [];
  let stderr = "";
  readline.createInterface({ input: proc.stdout! }).on("line", (l) => lines.push(l));
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  try {
    const [code] = (await once(proc, "exit")) as [number | null];
    assert.equal(code, 0, `exit ${code}; stdout:\n${lines.join("\n")}\nstderr:\n${stderr}`);
    assert.ok(
      lines.some((l) => /^dev: 6\/6 demo jobs Done in [\d.]+ s$/.test(l)),
      `no Done line in:\n${lines.join("\n")}`,
    );
    assert.ok(!lines.some((l) => /redis-server pid/.test(l)), "dev used the cluster, not a redis-server of its own");
  } finally {
    if (proc.exitCode === null) proc.kill("SIGKILL");
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
