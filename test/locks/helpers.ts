import assert from "node:assert/strict";
import { after, beforeEach } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { BrokerConnection } from "../../src/redis-cluster.ts";
import { RedisServer, redisClient, flushBroker } from "../support/redis.ts";
import { LockManager, type AcquireResult, type HeldLocks, type Lock } from "../../src/locks/index.ts";

/**
 * A private redis-server for this test file, a connection and a LockManager on it; stopped after
 * the file's tests, and flushed before each one when asked.
 */
export async function lockRedis(opts: { flushBeforeEach?: boolean } = {}): Promise<{ server: RedisServer; redis: BrokerConnection; manager: LockManager }> {
  const server = await RedisServer.start();
  const redis = redisClient(server.url);
  const manager = new LockManager(redis);
  after(async () => {
    redis.disconnect();
    await server.stop();
  });
  if (opts.flushBeforeEach) {
    beforeEach(async () => {
      await flushBroker(redis);
    });
  }
  return { server, redis, manager };
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(10);
  }
}

/** Resolves once Redis has dropped the key (its TTL ran out). */
export async function waitForKeyGone(redis: BrokerConnection, key: string): Promise<void> {
  await waitFor(`${key} to expire`, async () => (await redis.pttl(key)) === -2);
}

export function held(result: AcquireResult): HeldLocks {
  assert.equal(result.acquired, true, result.acquired ? "" : `blocked by ${result.blockedBy}`);
  return (result as { held: HeldLocks }).held;
}

export async function tryAcquire(manager: LockManager, locks: Lock[], owner: string, ttlMs = 60_000): Promise<boolean> {
  return (await manager.acquireAll(locks, owner, ttlMs)).acquired;
}
