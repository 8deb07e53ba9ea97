import assert from "node:assert/strict";
import { once } from "node:events";
import { after, test } from "node:test";
import { contentionDelayMs, LockContentionError, LockLostError, MutexLock, RateLimiter, withLocks } from "../../src/locks/index.ts";
import { lockRedis, tryAcquire } from "./helpers.ts";

const { redis, manager } = await lockRedis({ flushBeforeEach: true });

test("withLocks holds the locks while fn runs and releases them only after it settles", async () => {
  const lock = new MutexLock("task", "S");
  let heldInside = false;
  const result = await withLocks(manager, [lock], { ownerId: "o1", holder: { taskId: "t1" } }, async () => {
    heldInside = !(await tryAcquire(manager, [lock], "other"));
    return 42;
  });
  assert.equal(result, 42);
  assert.equal(heldInside, true);
  assert.equal(await redis.exists(lock.redisKey), 0, "released afterwards");

  await assert.rejects(
    withLocks(manager, [lock], { ownerId: "o2" }, async () => {
      throw new Error("task failed");
    }),
    /task failed/,
  );
  assert.equal(await redis.exists(lock.redisKey), 0, "released after a failure too");
});

test("contention throws LockContentionError without running fn", async () => {
  const lock = new MutexLock("task", "S");
  await manager.acquireAll([lock], "holder", 60_000);
  let ran = false;
  const err = await withLocks(manager, [lock], { ownerId: "o1" }, async () => {
    ran = true;
  }).catch((e: unknown) => e);
  assert.ok(err instanceof LockContentionError);
  assert.equal(err.blockedBy, lock.redisKey);
  assert.equal(err.notBeforeMs, 0, "a holder may release any time");
  assert.equal(ran, false);

  const rate = new RateLimiter("task", "S", { limit: 1, windowSeconds: 60 });
  await manager.acquireAll([rate], "earlier", 60_000);
  const rateErr = await withLocks(manager, [rate], { ownerId: "o2" }, async () => undefined).catch((e: unknown) => e);
  assert.ok(rateErr instanceof LockContentionError);
  assert.ok(rateErr.notBeforeMs > 0 && rateErr.notBeforeMs <= 60_000);
});

test("the watchdog extends the locks past their TTL and aborts fn when one is lost", async () => {
  const lock = new MutexLock("task", "W");
  const reason = await withLocks(manager, [lock], { ownerId: "o1", ttlMs: 300 }, async (signal) => {
    // Outlive the TTL several times over: only the watchdog keeps the lock alive.
    const firstExpiry = Date.now() + 300;
    while (Date.now() < firstExpiry + 600) {
      assert.equal(signal.aborted, false);
      assert.ok((await redis.pttl(lock.redisKey)) > 0, "still held");
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await manager.forceRelease(lock.redisKey), true);
    await once(signal, "abort");
    return signal.reason as unknown;
  });
  assert.ok(reason instanceof LockLostError);
  assert.deepEqual(reason.lost, [lock.redisKey]);
});

test("contention delays grow with deferrals, are jittered and capped, and respect a rate limiter's wait", () => {
  const low = () => 0;
  const high = () => 1;
  assert.equal(contentionDelayMs(0, { random: low }), 500);
  assert.equal(contentionDelayMs(0, { random: high }), 1_000);
  assert.equal(contentionDelayMs(3, { random: high }), 8_000);
  assert.equal(contentionDelayMs(50, { random: high }), 60_000);
  assert.equal(contentionDelayMs(0, { random: low, notBeforeMs: 90_000 }), 90_000);
});
