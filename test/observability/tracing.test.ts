// Trace propagation through real Redis and an in-process TaskWorker, spans caught by an in-memory exporter.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { context, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { Redis } from "ioredis";
import { z } from "zod";
import { deadLetterFor } from "../../src/engine/dead-letter.ts";
import { openNoDependencies } from "../../src/engine/execution.ts";
import { Producer } from "../../src/engine/producer.ts";
import { scheduledJobTemplate } from "../../src/scheduler/engine-bridge.ts";
import { defineTask, type ContextOf } from "../../src/engine/task.ts";
import { TaskRegistry } from "../../src/engine/task-registry.ts";
import { TaskWorker } from "../../src/engine/worker.ts";
import { LockManager, MutexLock, NoRetry, type Lock } from "../../src/index.ts";
import { disableTracing, enableTracing } from "../../src/observability/tracing.ts";
import { RedisServer } from "../support/redis.ts";
import { waitFor } from "../engine/support.ts";

class Child extends defineTask({ args: z.object({ n: z.number() }), size: "small" }) {
  async execute(_ctx: ContextOf<typeof Child>) {
    return this.args.n;
  }
}
class Parent extends defineTask({ args: z.object({ children: z.number() }), size: "small" }) {
  async execute(ctx: ContextOf<typeof Parent>) {
    for (let n = 0; n < this.args.children; n++) await ctx.schedule(new Child({ n }));
  }
}
class Locked extends defineTask({ args: z.object({ key: z.string() }), size: "small" }) {
  override locks(): Lock[] {
    return [new MutexLock("task", "Locked", this.args.key)];
  }
  async execute(_ctx: ContextOf<typeof Locked>) {
    return "done";
  }
}
class Fails extends defineTask({ args: z.object({ key: z.string() }), size: "small", retryPolicy: new NoRetry() }) {
  async execute(_ctx: ContextOf<typeof Fails>): Promise<never> {
    throw new Error(`failing ${this.args.key}`);
  }
}
class Periodic extends defineTask({ args: z.object({}), size: "small" }) {
  async execute(_ctx: ContextOf<typeof Periodic>) {
    return null;
  }
}

const server = await RedisServer.start();
const redis = new Redis(server.url, { maxRetriesPerRequest: null });
const registry = TaskRegistry.fromClasses({ "t:Child": Child, "t:Parent": Parent, "t:Locked": Locked, "t:Fails": Fails, "t:Periodic": Periodic });
const producer = new Producer({ connection: redis, registry, retention: { completedSeconds: 600, failedSeconds: 600 } });
const locks = new LockManager(redis);
const exporter = new InMemorySpanExporter();
let worker: TaskWorker;

const attempts = (taskId: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === "process tasks-small" && s.attributes["task.id"] === taskId);
const byName = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === "process tasks-small" && s.attributes["task.name"] === name);
const status = (s: ReadableSpan): unknown => s.attributes["task.status"];

/** Submits inside a span standing for the request that created the task; returns its trace id. */
async function submitInRequest(task: string, args: object): Promise<{ taskId: string; traceId: string }> {
  const tracer = trace.getTracer("test");
  return tracer.startActiveSpan("POST /api/jobs/jdl", async (span) => {
    try {
      const taskId = await producer.submit(task, args);
      return { taskId, traceId: span.spanContext().traceId };
    } finally {
      span.end();
    }
  });
}

before(async () => {
  await enableTracing({ exporter, applicationName: "test" });
  worker = new TaskWorker({
    size: "small",
    concurrency: 2,
    connection: server.url,
    registry,
    submitter: producer,
    openUnitOfWork: openNoDependencies,
    lockManager: locks,
    timings: { baseDeferralMs: 20, maxDeferralMs: 50 },
  });
  await worker.start();
});

after(async () => {
  await worker.close(1_000);
  await producer.close();
  redis.disconnect();
  await disableTracing();
  await server.stop();
});

describe("observability: tracing", () => {
  it("a request, its task and the task's children share one trace; the attempt links to the creation context", async () => {
    const { taskId, traceId } = await submitInRequest("t:Parent", { children: 2 });
    const parent = await waitFor("parent attempt span", () => attempts(taskId).find((s) => status(s) === "completed"));
    assert.equal(parent!.spanContext().traceId, traceId);
    assert.equal(parent!.links[0]?.context.traceId, traceId, "linked to the creation context");
    assert.equal(parent!.attributes["messaging.system"], "bullmq");
    assert.equal(parent!.attributes["messaging.destination.name"], "tasks-small");
    assert.equal(parent!.attributes["diracx.task.name"], "t:Parent");
    const children = await waitFor("child attempt spans", () => {
      const c = byName("t:Child").filter((s) => s.spanContext().traceId === traceId);
      return c.length === 2 ? c : undefined;
    });
    for (const c of children) assert.equal(c.parentSpanContext?.spanId, parent!.spanContext().spanId, "a child hangs off the attempt that submitted it");
  });

  it("a deferral then a success gives two attempt spans in the trace, the deferral as an event", async () => {
    const held = await locks.acquireAll([new MutexLock("task", "Locked", "k1")], "someone-else", 30_000);
    assert.ok(held.acquired);
    const { taskId, traceId } = await submitInRequest("t:Locked", { key: "k1" });
    await waitFor("a deferred attempt", () => attempts(taskId).some((s) => status(s) === "deferred"));
    await locks.releaseAll(held.held);
    const spans = await waitFor("the completed attempt", () => {
      const a = attempts(taskId);
      return a.some((s) => status(s) === "completed") ? a : undefined;
    });
    assert.ok(spans.length >= 2);
    assert.ok(spans.every((s) => s.spanContext().traceId === traceId), "every attempt in the request's trace");
    const deferred = spans.find((s) => status(s) === "deferred")!;
    assert.ok(deferred.events.some((e) => e.name === "task.deferred" && String(e.attributes?.["diracx.blocked_by"]).includes("k1")));
    assert.ok(spans.find((s) => status(s) === "completed")!.events.some((e) => e.name === "locks.acquired"));
  });

  it("a resubmitted dead letter links to the original trace", async () => {
    const { taskId, traceId } = await submitInRequest("t:Fails", { key: "dl" });
    await waitFor("the failed attempt", () => attempts(taskId).some((s) => status(s) === "failed"));
    const job = await producer.queue("small").getJob(taskId);
    const entry = deadLetterFor(job!, 1, new Error("failing dl"));
    assert.match(String(entry.labels?.traceparent), new RegExp(traceId), "the dead letter keeps the trace");
    // As resubmitDeadLetter does: the entry's labels go with the new task; no request is active now.
    const labels = Object.fromEntries(Object.entries(entry.labels ?? {}).map(([k, v]) => [k, String(v)]));
    const again = await context.with(trace.deleteSpan(context.active()), () => producer.submit("t:Fails", { key: "dl" }, { labels }));
    const span = await waitFor("the resubmitted attempt", () => attempts(again).find((s) => status(s) === "failed"));
    assert.notEqual(span!.spanContext().traceId, traceId, "a new trace");
    assert.ok(span!.links.some((l) => l.context.traceId === traceId && l.attributes?.["diracx.link"] === "resubmitted-from"));
  });

  it("two runs of a periodic task have different trace ids", async () => {
    const template = scheduledJobTemplate("t:Periodic", {}, "normal", "sched-1");
    const ids: string[] = [];
    for (let run = 0; run < 2; run++) {
      const job = await producer.queue("small").add(template.name, template.data, template.opts);
      ids.push(job.id!);
    }
    const spans = await waitFor("both runs", () => {
      const s = ids.map((id) => attempts(id).find((a) => status(a) === "completed"));
      return s.every(Boolean) ? (s as ReadableSpan[]) : undefined;
    });
    assert.notEqual(spans[0]!.spanContext().traceId, spans[1]!.spanContext().traceId);
    assert.ok(spans.every((s) => s.links.length === 0 && !s.parentSpanContext), "each run is the root of its own trace");
  });
});
