// holdWritesUntilNextTick: the commands one tick issues on a worker's connection leave in one
// write, in order, and nothing stays held once the tick's promise callbacks have run.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { holdWritesUntilNextTick } from "../../src/engine/connection.ts";
import { onCluster, RedisServer } from "../support/redis.ts";

const server = await RedisServer.start();
after(() => server.stop());

describe("engine: write coalescing", { skip: onCluster ? "a plain connection's socket (a cluster's connections are per node)" : false }, () => {
  it("commands issued in one tick go out together, in order, and are answered", async () => {
    const redis = new Redis(server.url, { maxRetriesPerRequest: null });
    await redis.ping();
    const socket = redis.stream;
    const writes: number[] = [];
    // Count what reaches the socket itself (the kernel write happens on uncork, in one batch).
    const origWritev = (socket as unknown as { _writev?: (chunks: unknown[], cb: () => void) => void })._writev?.bind(socket);
    (socket as unknown as { _writev: (chunks: unknown[], cb: () => void) => void })._writev = (chunks, cb) => {
      writes.push(chunks.length);
      origWritev!(chunks, cb);
    };
    holdWritesUntilNextTick(redis);
    holdWritesUntilNextTick(redis); // twice in a tick: still one hold
    assert.equal(socket.writableCorked, 1, "held for the rest of the tick");
    const replies = Promise.all([redis.set("k", "1"), redis.incr("k"), redis.incr("k"), redis.get("k")]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(socket.writableCorked, 0, "released once the tick's callbacks ran");
    assert.deepEqual(await replies, ["OK", 2, 3, "3"], "in order");
    assert.deepEqual(writes, [4], "the four commands left in one write");
    redis.disconnect();
  });
});
