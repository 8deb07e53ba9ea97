// The tasks-by-type statistics on a real Redis: what the outcome step counts is what the page reads.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { bucketUpperMs, durationBucket, readTaskStats, readThroughput, recordTaskOutcome } from "../../src/engine/task-stats.ts";
import { waitFor } from "../engine/support.ts";
import { RedisServer } from "../support/redis.ts";

let server: RedisServer;
let redis: Redis;
before(async () => {
  server = await RedisServer.start();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
});
after(async () => {
  redis.disconnect();
  await server.stop();
});

test("a duration falls in the histogram bucket whose bound is within 20 % above it", () => {
  for (const ms of [1.5, 7, 95, 1000, 61_000, 3_600_000]) {
    const upper = bucketUpperMs(durationBucket(ms));
    assert.ok(upper >= ms && upper <= ms * 1.2 + 1e-6, `${ms} ms → bucket bound ${upper}`);
  }
});

test("completed, retried, deferred and failed outcomes are counted per task with durations and the last failure", async () => {
  // processedOn: when the attempt started, so the recorded duration is ranMs (plus the few µs to the call).
  const job = (id: string, ranMs: number) => ({ name: "t:Probe", id, processedOn: Date.now() - ranMs });
  for (let i = 0; i < 18; i++) recordTaskOutcome(redis, job(`ok-${i}`, 100), { kind: "success" });
  recordTaskOutcome(redis, job("slow", 5000), { kind: "success" });
  recordTaskOutcome(redis, job("slower", 6000), { kind: "success" });
  recordTaskOutcome(redis, job("r", 10), { kind: "retry", error: new Error("again") });
  recordTaskOutcome(redis, job("d", 0), { kind: "deferral" });
  recordTaskOutcome(redis, job("q", 0), { kind: "requeue" });
  recordTaskOutcome(redis, { ...job("f", 10), data: { meta: { labels: { vo: "gridpp" } } } }, { kind: "final", error: new TypeError("bad input"), reason: "no retry left" });
  recordTaskOutcome(redis, { name: "t:Other", id: "o", processedOn: Date.now() }, { kind: "success" });

  const stats = await waitFor("the counts to be written", async () => {
    const s = (await readTaskStats(redis)).get("t:Probe");
    return s && s.hour.completed === 20 && s.hour.failed === 1 ? s : undefined;
  });
  for (const w of [stats.hour, stats.day]) {
    assert.equal(w.completed, 20);
    assert.equal(w.retried, 1);
    assert.equal(w.deferred, 1);
    assert.equal(w.failed, 1);
  }
  // 22 timed attempts: 18 of ~100 ms, 2 of 10 ms, 5 s and 6 s. p50 ≈ 100 ms, p95 ≈ 5–6 s.
  assert.ok(stats.day.p50Ms! >= 100 && stats.day.p50Ms! <= 130, `p50 ${stats.day.p50Ms}`);
  assert.ok(stats.day.p95Ms! >= 5000 && stats.day.p95Ms! <= 7300, `p95 ${stats.day.p95Ms}`);
  assert.equal(stats.lastFailure?.type, "TypeError");
  assert.equal(stats.lastFailure?.message, "bad input");
  assert.equal(stats.lastFailure?.taskId, "f");
  assert.equal(stats.lastFailure?.vo, "gridpp", "kept so the page shows it only to those who may see gridpp");
  assert.equal((await readTaskStats(redis)).get("t:Other")?.hour.completed, 1);
  // The overview's chart: every task's completions and final failures per minute.
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const tp = await waitFor("the per-minute totals", async () => {
    const t = await readThroughput(redis, 60);
    return sum(t.completed) === 21 ? t : undefined;
  });
  assert.equal(tp.completed.length, 60);
  assert.equal(sum(tp.failed), 1);
});
