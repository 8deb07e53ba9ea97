// One trace from the router request to the tasks that ran: a real `serve` stack in this process
// (setupHttpTracing, the HTTP API on a real port, workers of both sizes, the scheduler) on a
// private Redis and PostgreSQL, spans caught by an in-memory exporter.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace";
import pino from "pino";
import { deadLetterOption } from "../../src/engine/dead-letter.ts";
import { engineWorkerOptions } from "../../src/engine/wiring.ts";
import { TaskWorker } from "../../src/engine/worker.ts";
import { startHttpServer, type HttpServer } from "../../src/http/server.ts";
import { MutexLock } from "../../src/locks/index.ts";
import { disableTracing, setupHttpTracing } from "../../src/observability/tracing.ts";
import { desiredFromConfig, onAnyChange, periodicTasks } from "../../src/scheduler/desired.ts";
import { Scheduler } from "../../src/scheduler/scheduler.ts";
import { waitFor } from "../engine/support.ts";
import { setupHttpEnv, users, type HttpEnv } from "../http/support.ts";

const quiet = pino({ level: "silent" });
const exporter = new InMemorySpanExporter();
const saved = { ...process.env };
let he: HttpEnv;
let server: HttpServer;
let workers: TaskWorker[] = [];
let scheduler: Scheduler;

const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const attempts = (pred: (s: ReadableSpan) => boolean): ReadableSpan[] => spans().filter((s) => s.name.startsWith("process tasks-") && pred(s));
const ofTask = (taskId: string): ReadableSpan[] => attempts((s) => s.attributes["task.id"] === taskId);
const status = (s: ReadableSpan): unknown => s.attributes["task.status"];
const traceOf = (s: ReadableSpan): string => s.spanContext().traceId;

/** The server spans (HTTP instrumentation) of the requests to `pathname` that ended. */
function requestSpans(method: string, pathname: string): ReadableSpan[] {
  return spans().filter((s) => s.kind === SpanKind.SERVER && s.attributes["http.request.method"] === method && String(s.attributes["url.path"] ?? s.attributes["http.target"]) === pathname);
}

async function call(method: string, pathname: string, who: (typeof users)[keyof typeof users], body?: unknown): Promise<{ status: number; json: unknown; span: ReadableSpan }> {
  const headers: Record<string, string> = { authorization: `Bearer ${await he.token(who)}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const earlier = new Set(requestSpans(method, pathname).map((s) => s.spanContext().spanId));
  const res = await fetch(`${server.url}${pathname}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const json = (await res.json()) as unknown;
  assert.ok(res.status < 300, `${method} ${pathname}: ${res.status} ${JSON.stringify(json)}`);
  // Requests are made one at a time here: the new span of that path is this request's.
  const span = await waitFor(`the server span of ${method} ${pathname}`, () => requestSpans(method, pathname).find((s) => !earlier.has(s.spanContext().spanId)));
  return { status: res.status, json, span };
}

before(async () => {
  // What `serve` does first: tracing with HTTP, pg and ioredis instrumentation (here into memory).
  assert.equal(await setupHttpTracing(process.env, exporter), true);
  he = await setupHttpEnv({ backend: "postgresql", appRoot: path.join(import.meta.dirname, "fixture-app") });
  // The dummy executor's switch and the dead-letter drainer read the process environment.
  Object.assign(process.env, he.env, { DIRACX_TASKS_DUMMY_JOB_EXECUTOR_ENABLED: "true", DIRACX_TASKS_DUMMY_JOB_EXECUTOR_INTERVAL_SECONDS: "1" });
  const { engine } = he;
  workers = (["small", "large"] as const).map(
    (size) =>
      new TaskWorker({ size, concurrency: 2, ...engineWorkerOptions(engine), ...deadLetterOption(engine.redis), logger: quiet, timings: { baseDeferralMs: 50, maxDeferralMs: 200 } }),
  );
  for (const w of workers) await w.start();
  scheduler = new Scheduler({
    redis: engine.redis,
    desired: desiredFromConfig(periodicTasks(engine.tasks), engine.config!, engine.tasksConfig!),
    onConfigChange: (l) => onAnyChange([engine.config!, engine.tasksConfig!], l),
    hooks: [],
    logger: quiet,
  });
  await scheduler.start();
  server = await startHttpServer(engine, { env: he.env, port: 0, logger: quiet });
});

after(async () => {
  await server?.close();
  await scheduler?.stop();
  for (const w of workers) await w.close(2_000);
  await he?.close();
  await disableTracing();
  process.env = saved;
});

describe("observability: one trace from the router request to the tasks that ran", () => {
  it("POST /api/jobs/jdl → the optimisation task → the job's executor share the request's trace id", async () => {
    const jdl = `[\n  Executable = "echo";\n  JobName = "traced";\n  CPUTime = 3600;\n]`;
    const { json, span: request } = await call("POST", "/api/jobs/jdl", users.alice, [jdl]);
    const jobId = (json as { JobID: number }[])[0]!.JobID;
    const traceId = traceOf(request);
    const optimiser = await waitFor(
      "the optimisation attempt",
      () => attempts((s) => s.attributes["task.name"] === "jobs:OptimizeJobsTask" && status(s) === "completed" && traceOf(s) === traceId)[0],
      60_000,
    );
    assert.equal(optimiser.parentSpanContext?.spanId, request.spanContext().spanId, "the task hangs off the request that submitted it");
    assert.ok(optimiser.links.some((l) => l.context.traceId === traceId && l.attributes?.["diracx.link"] === "creation"), "and links to its creation context");
    assert.equal(optimiser.attributes["messaging.system"], "bullmq");
    assert.equal(optimiser.attributes["messaging.destination.name"], "tasks-small");
    assert.ok(spans().some((s) => s.name === "db.transaction" && traceOf(s) === traceId && s.parentSpanContext?.spanId === optimiser.spanContext().spanId), "its unit of work is a child span");
    const executor = await waitFor(
      "the executor's attempt",
      () => attempts((s) => s.attributes["task.name"] === "jobs:DummyJobExecutorTask" && status(s) === "completed" && traceOf(s) === traceId)[0],
      60_000,
    );
    assert.equal(executor.parentSpanContext?.spanId, optimiser.spanContext().spanId, "the executor joins the trace its job was optimised in");
    assert.equal(executor.attributes["messaging.destination.name"], "tasks-large");
    const search = await call("POST", "/api/jobs/search", users.alice, { parameters: ["JobID", "Status"], search: [{ parameter: "JobID", operator: "eq", value: jobId }] });
    assert.ok(["Running", "Done"].includes((search.json as { Status: string }[])[0]!.Status), "the job was run");
  });

  it("children submitted by ctx.schedule() and by task.schedule() inside a task are in its trace", async () => {
    const { json, span: request } = await call("POST", "/api/tasks/submit", users.serviceAdmin, { task: "obs:Spawner" });
    const { taskId } = json as { taskId: string };
    const parent = await waitFor("the spawner's attempt", () => ofTask(taskId).find((s) => status(s) === "completed"), 60_000);
    assert.equal(traceOf(parent), traceOf(request));
    const children = await waitFor("both children's attempts", () => {
      const c = attempts((s) => s.attributes["task.name"] === "obs:Child" && status(s) === "completed");
      return c.length === 2 ? c : undefined;
    }, 60_000);
    for (const c of children) {
      assert.equal(traceOf(c), traceOf(request));
      assert.equal(c.parentSpanContext?.spanId, parent.spanContext().spanId, "a child hangs off the attempt that submitted it");
    }
  });

  it("a deferral then a success gives two attempt spans in the request's trace", async () => {
    // The optimiser takes a mutex per job: hold the one of a job id nobody uses.
    const held = await he.engine.lockManager!.acquireAll([new MutexLock("job", 987_654)], "the-test", 60_000);
    assert.ok(held.acquired);
    const { json, span: request } = await call("POST", "/api/tasks/submit", users.serviceAdmin, { task: "jobs:OptimizeJobsTask", args: { jobIds: [987_654] }, labels: { vo: "lhcb" } });
    const { taskId } = json as { taskId: string };
    await waitFor("a deferred attempt", () => ofTask(taskId).some((s) => status(s) === "deferred"), 60_000);
    await he.engine.lockManager!.releaseAll(held.held);
    const all = await waitFor("the attempt that got the lock", () => (ofTask(taskId).some((s) => status(s) === "completed") ? ofTask(taskId) : undefined), 60_000);
    assert.ok(all.length >= 2);
    assert.ok(all.every((s) => traceOf(s) === traceOf(request)), "every attempt in the request's trace");
    const deferred = all.find((s) => status(s) === "deferred")!;
    assert.ok(deferred.events.some((e) => e.name === "task.deferred" && String(e.attributes?.["diracx.blocked_by"]).includes("987654")));
    const acquired = all.find((s) => status(s) === "completed")!.events.find((e) => e.name === "locks.acquired");
    assert.ok(acquired, "the successful attempt tells it got the locks");
    assert.ok(Number(acquired.attributes?.["diracx.lock_wait_ms"]) > 0, "and how long it waited");
  });

  it("a resubmitted dead letter starts a new trace linked to the original", async () => {
    const { json, span: request } = await call("POST", "/api/tasks/submit", users.serviceAdmin, { task: "obs:Fails", args: { key: "dl" } });
    const { taskId } = json as { taskId: string };
    await waitFor("the failed attempt", () => ofTask(taskId).some((s) => status(s) === "failed"), 60_000);
    const entry = await waitFor(
      "the dead letter",
      async () => {
  const res = await fetch(`${server.url}/api/tasks/dead-letters`, { headers: { authorization: `Bearer ${await he.token(users.serviceAdmin)}` } });
        return ((await res.json()) as { id: number; taskId: string }[]).find((d) => d.taskId === taskId);
      },
      60_000,
    );
    const resubmit = await call("POST", `/api/tasks/dead-letters/${entry.id}/resubmit`, users.serviceAdmin);
    const again = (resubmit.json as { taskId: string }).taskId;
    const span = await waitFor("the resubmitted attempt", () => ofTask(again).find((s) => status(s) === "failed"), 60_000);
    assert.equal(traceOf(span), traceOf(resubmit.span), "in the trace of the resubmit request");
    assert.notEqual(traceOf(span), traceOf(request));
    assert.ok(span.links.some((l) => l.context.traceId === traceOf(request) && l.attributes?.["diracx.link"] === "resubmitted-from"), "linked to the original trace");
  });

  it("two runs of a periodic task have different trace ids", async () => {
    const runs = await waitFor("two runs of the executor monitor", () => {
      const r = attempts((s) => s.attributes["task.name"] === "jobs:DummyJobExecutorMonitorTask" && status(s) === "completed");
      return new Set(r.map((s) => s.attributes["task.id"])).size >= 2 ? r : undefined;
    }, 60_000);
    const [a, b] = [runs[0]!, runs.find((s) => s.attributes["task.id"] !== runs[0]!.attributes["task.id"])!];
    assert.notEqual(traceOf(a), traceOf(b));
    assert.ok([a, b].every((s) => s.links.length === 0 && !s.parentSpanContext), "each run is the root of its own trace");
  });
});
