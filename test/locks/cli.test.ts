import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { flushBroker } from "../support/redis.ts";
import { lockRedis } from "./helpers.ts";
import { MutexLock, SharedRWLock, type LockInfo } from "../../src/locks/index.ts";


const bin = path.resolve(import.meta.dirname, "../../bin/diracx-tasks.mjs");
const { server, redis, manager } = await lockRedis();

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, DIRACX_TASKS_REDIS_URL: server.url, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

test("locks list shows what holds which lock, as JSON or a table", async () => {
  await flushBroker(redis);
  await manager.acquireAll([new MutexLock("task", "jobs:CleanSandboxes")], "owner-1", 60_000, { holder: { taskId: "42", taskName: "jobs:CleanSandboxes" } });
  await manager.acquireAll([new SharedRWLock("job", 7)], "owner-2", 60_000);

  const json = await cli(["locks", "list", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const infos = JSON.parse(json.stdout) as LockInfo[];
  assert.deepEqual(infos.map((i) => [i.redisKey, i.type, i.holders[0]?.ownerId, i.holders[0]?.taskId]), [
    ["{diracx}:lock:mutex:task:jobs:CleanSandboxes", "mutex", "owner-1", "42"],
    ["{diracx}:lock:rw:job:7", "rw", "owner-2", undefined],
  ]);

  const filtered = await cli(["locks", "list", "job:7", "--json"]);
  assert.deepEqual((JSON.parse(filtered.stdout) as LockInfo[]).map((i) => i.redisKey), ["{diracx}:lock:rw:job:7"]);

  const tableOut = await cli(["locks", "list", "--redis-url", server.url], { DIRACX_TASKS_REDIS_URL: "redis://127.0.0.1:1" });
  assert.equal(tableOut.code, 0, tableOut.stderr);
  const lines = tableOut.stdout.trim().split("\n");
  assert.match(lines[0]!, /^KEY\s+TYPE\s+HOLDER TASK\s+OWNER\s+AGE\s+TTL$/);
  assert.match(lines[1]!, /^\{diracx\}:lock:mutex:task:jobs:CleanSandboxes\s+mutex\s+jobs:CleanSandboxes \(42\)\s+owner-1\s+\S+\s+\S+$/);
  assert.match(lines[2]!, /^\{diracx\}:lock:rw:job:7\s+rw:read\s+-\s+owner-2/);
});

test("locks release drops a held lock and fails on one nobody holds", async () => {
  await flushBroker(redis);
  const lock = new MutexLock("task", "Stuck");
  await manager.acquireAll([lock], "owner-1", 60_000);

  const released = await cli(["locks", "release", lock.redisKey, "--yes"]);
  assert.equal(released.code, 0, released.stderr);
  assert.equal(released.stdout.trim(), `released ${lock.redisKey}`);
  assert.equal(await redis.exists(lock.redisKey), 0);

  const again = await cli(["locks", "release", lock.redisKey, "--yes"]);
  assert.equal(again.code, 1);
  assert.equal(again.stderr.trim(), `diracx-tasks: lock ${lock.redisKey} is not held`);
});

test("an unreachable Redis is one clear line and a non-zero exit", async () => {
  const r = await cli(["locks", "list"], { DIRACX_TASKS_REDIS_URL: "redis://127.0.0.1:1" });
  assert.equal(r.code, 1);
  assert.match(r.stderr.trim(), /^diracx-tasks: cannot connect to Redis at redis:\/\/127\.0\.0\.1:1 \(DIRACX_TASKS_REDIS_URL\): .+$/, "names where the URL came from");
});
