// A task's lock release leaves in the same socket write as the job's completion (write-pairing.ts):
// on a real Redis, a held command waits for the next one and goes out with it, in order; with
// nothing after it, it still goes out; and a worker running locked tasks reports every job done
// with its locks free, the release applied before the completion.
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import pino from "pino";
import { z } from "zod";
import { openNoDependencies } from "../../src/engine/execution.ts";
import { Producer } from "../../src/engine/producer.ts";
import { defineTask, type ContextOf } from "../../src/engine/task.ts";
import { TaskRegistry } from "../../src/engine/task-registry.ts";
import { TaskWorker } from "../../src/engine/worker.ts";
import { WritePairing } from "../../src/engine/write-pairing.ts";
import { LockManager, MutexLock, type Lock } from "../../src/locks/index.ts";
import { onCluster, RedisServer, redisClient } from "../support/redis.ts";
import { waitForJob } from "./support.ts";

const server = await RedisServer.start();
after(() => server.stop());

/**
 * Counts the system-call-level writes of a socket (Node's `_write` for one chunk, `_writev` for
 * several) and the chunks they carry (ioredis writes each command as one chunk) until `stop`.
 */
function countWrites(socket: Socket): { writes: number; chunks: number; stop(): void } {
  const s = socket as unknown as { _write: (...a: unknown[]) => void; _writev: (chunks: unknown[], ...a: unknown[]) => void };
  const { _write: write, _writev: writev } = s;
  const counts = {
    writes: 0,
    chunks: 0,
    stop: () => {
      s._write = write;
      s._writev = writev;
    },
  };
  s._write = function (this: Socket, ...a) {
    counts.writes++;
    counts.chunks++;
    write.apply(this, a);
  };
  s._writev = function (this: Socket, chunks, ...a) {
    counts.writes++;
    counts.chunks += chunks.length;
    writev.call(this, chunks, ...a);
  };
  return counts;
}

describe("write pairing: a held command leaves with the next one", { skip: onCluster ? "a cluster connection holds nothing" : false, timeout: 60_000 }, () => {
  const conn = new Redis(server.url, { maxRetriesPerRequest: null });
  const pairing = WritePairing.of(conn);
  after(() => conn.disconnect());

  it("in one write, applied first", async () => {
    await conn.ping();
    const counts = countWrites(conn.stream as Socket);
    const held = pairing.holdThrough(() => conn.set("pairing:k", "first"));
    assert.ok((conn.stream as Socket).writableLength > 0, "the held command waits in the socket");
    assert.equal(counts.writes, 0);
    const next = conn.get("pairing:k");
    assert.deepEqual(await Promise.all([held, next]), ["OK", "first"]);
    counts.stop();
    assert.deepEqual({ writes: counts.writes, chunks: counts.chunks }, { writes: 1, chunks: 2 });
  });

  it("is one per connection: a second holder shares it", () => {
    assert.equal(WritePairing.of(conn), pairing);
  });

  it("several holds in one turn all wait for the next command", async () => {
    const counts = countWrites(conn.stream as Socket);
    const a = pairing.holdThrough(() => conn.set("pairing:a", "1"));
    const b = pairing.holdThrough(() => conn.set("pairing:b", "2"));
    assert.equal(counts.writes, 0);
    const both = conn.mget("pairing:a", "pairing:b");
    assert.deepEqual(await Promise.all([a, b, both]), ["OK", "OK", ["1", "2"]]);
    counts.stop();
    assert.deepEqual({ writes: counts.writes, chunks: counts.chunks }, { writes: 1, chunks: 3 });
  });

  it("with nothing after it, the held command goes out at the next turn of the event loop", async () => {
    const counts = countWrites(conn.stream as Socket);
    const held = pairing.holdThrough(() => conn.set("pairing:alone", "x"));
    await Promise.resolve();
    assert.equal(counts.writes, 0, "still held after the microtasks");
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(counts.writes, 1, "sent at the next turn");
    counts.stop();
    assert.equal(await held, "OK");
    const other = redisClient(server.url);
    assert.equal(await other.get("pairing:alone"), "x");
    other.disconnect();
  });

  it("a pipeline sent meanwhile joins the held write, behind it", async () => {
    const counts = countWrites(conn.stream as Socket);
    const held = pairing.holdThrough(() => conn.set("pairing:p", "held"));
    const batch = conn.pipeline().get("pairing:p").set("pairing:p", "after").exec();
    assert.equal(counts.writes, 0, "the pipeline's batch waits behind the held write");
    assert.equal(await held, "OK");
    assert.deepEqual(await batch, [
      [null, "held"],
      [null, "OK"],
    ]);
    counts.stop();
    assert.deepEqual({ writes: counts.writes, chunks: counts.chunks }, { writes: 1, chunks: 2 });
  });

  it("a connection with no socket yet (lazy, not connected) sends as usual", async () => {
    const lazy = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: null });
    const p = WritePairing.of(lazy);
    const sent = p.holdThrough(() => lazy.set("pairing:lazy", "y"));
    assert.equal(await sent, "OK");
    lazy.disconnect();
  });
});

const LOCKED_TASKS = 40;
class PairedLocked extends defineTask({ args: z.object({ i: z.number() }), size: "small" }) {
  override locks(): Lock[] {
    return [new MutexLock("task", "PairedLocked", this.args.i % 4)];
  }
  async execute(_ctx: ContextOf<typeof PairedLocked>) {
    return this.args.i;
  }
}

// MONITOR shows one node's commands; on a cluster nothing is held anyway.
describe("write pairing in a worker: locked tasks", { skip: onCluster ? "a cluster connection holds nothing" : false, timeout: 120_000 }, () => {
  const redis = redisClient(server.url);
  const registry = TaskRegistry.fromClasses({ "test:PairedLocked": PairedLocked });
  const producer = new Producer({ connection: redis, registry });
  after(async () => {
    await producer.close();
    redis.disconnect();
  });

  it("every task completes with its lock free, its release applied before its completion and sent in the same write", async () => {
    const monitor = await new Redis(server.url).monitor();
    const seen: string[][] = [];
    // Commands clients sent, not those the scripts ran inside Redis (source "lua").
    monitor.on("monitor", (_time: string, args: string[], source: string) => {
      if (source !== "lua") seen.push(args);
    });
    // The worker's connection, owned here so that its socket's writes can be counted.
    const connection = new Redis(server.url, { maxRetriesPerRequest: null });
    await connection.ping();
    const worker = new TaskWorker({ size: "small", concurrency: 8, connection, registry, submitter: producer, openUnitOfWork: openNoDependencies, lockManager: new LockManager(redis), logger: pino({ level: "silent" }) });
    const counts = countWrites(connection.stream as Socket);
    await worker.start();
    try {
      const ids = await producer.submitBulk(Array.from({ length: LOCKED_TASKS }, (_, i) => ({ task: "test:PairedLocked", args: { i } })));
      const queue = producer.queue("small");
      const values = await Promise.all(ids.map(async (id) => (await waitForJob(queue, id, ["completed"])).returnvalue as number));
      counts.stop();
      assert.deepEqual(values, Array.from({ length: LOCKED_TASKS }, (_, i) => i));
      assert.deepEqual(await new LockManager(redis).list("PairedLocked"), [], "no lock is held once every task completed");
      // Every release shared a write with a later command (nearly always its job's completion).
      assert.ok(counts.chunks - counts.writes >= LOCKED_TASKS, `${counts.chunks} commands in ${counts.writes} writes for ${LOCKED_TASKS} releases`);
      // MONITOR's stream is read on its own socket: a marker seen there means every command before it was too.
      const marker = `pairing-done-${Date.now()}`;
      const markerSeen = new Promise<void>((resolve) => monitor.on("monitor", (_t: string, args: string[]) => args.includes(marker) && resolve()));
      await redis.echo(marker);
      await markerSeen;
      // Per task, in the order Redis ran them: its lock calls (their owner id names the task; an
      // acquire refused while another task held the mutex is followed by a deferral and another
      // acquire), the last one its release, then the completion (moveToFinished names the job and "completed").
      for (const id of ids) {
        const owner = (args: string[]) => args.some((a) => a.startsWith(`task:${id}:`));
        const lockCalls = seen.flatMap((args, i) => (owner(args) ? [i] : []));
        const completion = seen.findIndex((args) => args.includes("completed") && args.some((a) => a.endsWith(`:${id}`)));
        assert.ok(lockCalls.length >= 2, `task ${id}: an acquire and a release`);
        assert.ok(completion > lockCalls.at(-1)!, `task ${id}: its release ran before its completion`);
      }
    } finally {
      counts.stop();
      await worker.close(1_000);
      connection.disconnect();
      monitor.disconnect();
    }
  });
});
