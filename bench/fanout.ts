// Fan-out bench: one group of DIRACX_BENCH_CHILDREN (default 10,000) no-op children plus a
// callback that reads every child's outcome, through our workers on a private redis-server.
// Figure: time from spawnWithCallback() to the callback's completion. The same flow through
// plain BullMQ (FlowProducer, bare workers, getChildrenValues in the parent) is measured in the
// same run and reported with the ratio.
import { setTimeout as sleep } from "node:timers/promises";
import { FlowProducer, Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { z } from "zod";
import { RedisServer } from "../test/support/redis.ts";
import { emitter } from "./_support.ts";
import type { ContextOf } from "../src/index.ts";

// Per-task info lines would dominate the measurement; set before the logger is created.
process.env.DIRACX_LOG_LEVEL ??= "warn";
const { defineTask } = await import("../src/index.ts");
const { Producer, TaskRegistry, TaskWorker } = await import("../src/entries/ops.ts");
const { openNoDependencies } = await import("../src/engine/execution.ts");

const children = Number(process.env.DIRACX_BENCH_CHILDREN ?? 10_000);
const concurrency = 50;

class Noop extends defineTask({ args: z.object({ n: z.number().int() }), size: "small" }) {
  override locks() {
    return []; // measure the fan-out machinery, not the default (disabled) limiters' round trip
  }
  async execute() {
    return this.args.n;
  }
}
let seen = -1;
class Gather extends defineTask({ args: z.object({}), size: "medium" }) {
  override locks() {
    return [];
  }
  async execute(ctx: ContextOf<typeof Gather>) {
    seen = (await ctx.childOutcomes()).filter((o) => o.status === "completed").length;
    return seen;
  }
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 600_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench timed out waiting for ${what}`);
    await sleep(20);
  }
}

const server = await RedisServer.start();

// ---- ours
const registry = TaskRegistry.fromClasses({ "bench:Noop": Noop, "bench:Gather": Gather });
const producer = new Producer({ connection: server.url, registry });
const workers = [
  new TaskWorker({ size: "small", concurrency, connection: server.url, registry, submitter: producer, openUnitOfWork: openNoDependencies }),
  new TaskWorker({ size: "medium", concurrency: 1, connection: server.url, registry, submitter: producer, openUnitOfWork: openNoDependencies }),
];
await Promise.all(workers.map((w) => w.start()));
const kids = Array.from({ length: children }, (_, n) => new Noop({ n }));
let t0 = performance.now();
const handle = await producer.spawnWithCallback(kids, new Gather({}));
await until("our callback", async () => (await producer.queue("medium").getJobState(handle.callbackTaskId)) === "completed");
const oursMs = performance.now() - t0;
if (seen !== children) throw new Error(`callback saw ${seen} completed children, expected ${children}`);
await Promise.all(workers.map((w) => w.close(5_000)));
await producer.close();

// ---- plain BullMQ
const conn = new Redis(server.url, { maxRetriesPerRequest: null });
let peerSeen = -1;
const childWorker = new Worker("peer-children", async (job) => job.data.n as number, { connection: conn, prefix: "peer", concurrency });
const parentWorker = new Worker(
  "peer-parent",
  async (job) => {
    peerSeen = Object.keys(await job.getChildrenValues()).length;
    return peerSeen;
  },
  { connection: conn, prefix: "peer", concurrency: 1 },
);
await Promise.all([childWorker.waitUntilReady(), parentWorker.waitUntilReady()]);
const flows = new FlowProducer({ connection: conn, prefix: "peer" });
const parentQueue = new Queue("peer-parent", { connection: conn, prefix: "peer" });
t0 = performance.now();
const tree = await flows.add({
  name: "gather",
  queueName: "peer-parent",
  data: {},
  children: Array.from({ length: children }, (_, n) => ({ name: "noop", queueName: "peer-children", data: { n }, opts: { ignoreDependencyOnFailure: true } })),
});
await until("the BullMQ parent", async () => (await parentQueue.getJobState(tree.job.id!)) === "completed");
const peerMs = performance.now() - t0;
if (peerSeen !== children) throw new Error(`BullMQ parent saw ${peerSeen} children, expected ${children}`);
await Promise.all([childWorker.close(), parentWorker.close(), flows.close(), parentQueue.close()]);
conn.disconnect();
await server.stop();

const out = emitter("fanout", 2);
const label = children === 10_000 ? "10k" : String(children);
out(`${label}_children_ms`, oursMs, "ms", "<= 2x plain BullMQ");
out(`bullmq_${label}_children_ms`, peerMs, "ms", "reference");
out(`${label}_children_ratio`, oursMs / peerMs, "x", "<= 2");
