import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisServer } from "../support/redis.ts";
import { waitFor } from "../engine/support.ts";

const server = await RedisServer.start();
process.env.DIRACX_TASKS_REDIS_URL = server.url;
const { Producer, TaskRegistry, TaskWorker } = await import("../../src/index.ts");
const { openNoDependencies } = await import("../../src/engine/execution.ts");
const ops = await import("../../src/ops/tasks.ts");
const fixture = await import("../fixtures/engine-app/tasks.ts");

const registry = TaskRegistry.fromClasses({
  "test:Recorder": fixture.Recorder,
  "test:AlwaysFails": fixture.AlwaysFails,
  "test:BigChild": fixture.BigChild,
});

describe("ops/tasks: inspection and control by task id (real Redis, in-process worker)", () => {
  const redis = new Redis(server.url);
  const producer = new Producer({ connection: server.url, registry });
  const deps = { producer };
  let worker: InstanceType<typeof TaskWorker> | undefined;
  const startWorker = async (): Promise<void> => {
    worker = new TaskWorker({ size: "small", concurrency: 2, connection: server.url, registry, submitter: producer, openUnitOfWork: openNoDependencies });
    await worker.start();
  };
  const stopWorker = async (): Promise<void> => {
    await worker?.close(1_000);
    worker = undefined;
  };
  const final = (id: string) => waitFor(`task ${id} final`, async () => {
    const v = await ops.getTask(deps, id);
    return v && ops.FINAL_STATES.includes(v.state) ? v : undefined;
  });

  before(async () => {
    await redis.flushall();
  });
  after(async () => {
    await stopWorker();
    await producer.close();
    redis.disconnect();
    fixture.closeRecorder();
    await server.stop();
  });

  it("shows an unknown id as undefined and refuses to control it, naming the id", async () => {
    assert.equal(await ops.getTask(deps, "no-such-id"), undefined);
    const r = await ops.cancelTask(deps, "no-such-id");
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.code === "not-found" && /no task no-such-id/.test(r.reason));
  });

  it("waiting → cancel; delayed → promote; a running/finished task cannot be cancelled", async () => {
    const waiting = await producer.submit("test:Recorder", { key: "w" }, { labels: { vo: "lhcb" } });
    const v = await ops.getTask(deps, waiting);
    assert.equal(v?.state, "waiting");
    assert.equal(v?.task, "test:Recorder");
    assert.equal(v?.queue, "tasks-small");
    assert.equal(v?.priority, "normal");
    assert.deepEqual(v?.args, { key: "w", sleepMs: 0 });
    assert.deepEqual(v?.labels, { vo: "lhcb" });
    const listed = await ops.listTasks(deps, { state: "waiting" });
    assert.deepEqual(listed.tasks.map((t) => t.taskId), [waiting]);
    assert.equal(listed.total, 1);
    assert.deepEqual(await ops.cancelTask(deps, waiting), { ok: true, taskId: waiting, state: "waiting" });
    assert.equal(await ops.getTask(deps, waiting), undefined);

    const delayed = await producer.submit("test:Recorder", { key: "d" }, { delay: 3_600_000 });
    const dv = await ops.getTask(deps, delayed);
    assert.equal(dv?.state, "delayed");
    assert.ok(dv?.runAt && Date.parse(dv.runAt) > Date.now());
    const refused = await ops.retryTask(deps, delayed);
    assert.ok(!refused.ok && refused.code === "wrong-state" && /it is delayed, only a failed task can be/.test(refused.reason));
    assert.equal((await ops.promoteTask(deps, delayed)).ok, true);
    assert.equal((await ops.getTask(deps, delayed))?.state, "waiting");

    await startWorker();
    const done = await final(delayed);
    assert.equal(done.state, "completed");
    assert.deepEqual(done.result, { ok: true, key: "d" });
    assert.ok(done.startedAt && done.finishedAt);
    const late = await ops.cancelTask(deps, delayed);
    assert.ok(!late.ok && late.code === "wrong-state" && late.state === "completed");
  });

  it("a failed task shows each attempt's error; retry runs it again", async () => {
    const id = await producer.submit("test:AlwaysFails", { key: "f" });
    const failed = await final(id);
    assert.equal(failed.state, "failed");
    assert.match(failed.failedReason ?? "", /boom on attempt 3/);
    assert.deepEqual(failed.history.map((h) => [h.attempt, h.outcome, h.error?.type]), [
      [1, "failed", "BoomError"],
      [2, "failed", "BoomError"],
      [3, "failed", "BoomError"],
    ]);
    assert.deepEqual((await ops.listTasks(deps, { state: "failed", task: "test:AlwaysFails" })).tasks.map((t) => t.taskId), [id]);
    assert.deepEqual((await ops.listTasks(deps, { state: "failed", task: "test:Recorder" })).tasks, []);
    assert.equal((await ops.retryTask(deps, id)).ok, true);
    await waitFor("a second round of attempts", async () => ((await ops.getTask(deps, id))?.history.length ?? 0) >= 6);
    assert.equal((await final(id)).state, "failed");
  });

  it("a fan-out callback lists its children with their outcomes, a child its parent", async () => {
    const handle = await producer.spawnWithCallback(
      [new fixture.Recorder({ key: "c1", sleepMs: 0, value: 1 }), new fixture.Recorder({ key: "c2", sleepMs: 0, value: 2 })],
      new fixture.Recorder({ key: "cb", sleepMs: 0 }),
    );
    const cb = await final(handle.callbackTaskId);
    assert.deepEqual(
      cb.children.map((c) => [c.taskId, c.state, c.result]),
      handle.childTaskIds.map((id, i) => [id, "completed", i + 1]),
    );
    const child = await ops.getTask(deps, handle.childTaskIds[0]!);
    assert.equal(child?.parent?.taskId, handle.callbackTaskId);
    assert.equal(child?.parent?.state, "completed");
  });

  it("pauses and resumes one size's queue: nothing starts while paused", async () => {
    assert.deepEqual(await ops.pauseQueue(deps, "small"), { size: "small", queue: "tasks-small", paused: true });
    const id = await producer.submit("test:Recorder", { key: "p" });
    assert.equal((await ops.getTask(deps, id))?.state, "waiting");
    assert.deepEqual(await ops.resumeQueue(deps, "small"), { size: "small", queue: "tasks-small", paused: false });
    assert.equal((await final(id)).state, "completed");
  });

  it("pages a state's list across sizes", async () => {
    await stopWorker();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await producer.submit("test:Recorder", { key: `page${i}` }, { delay: 3_600_000 }));
    ids.push(await producer.submit("test:BigChild", { key: "big" }, { delay: 3_600_000 }));
    const all = await ops.listTasks(deps, { state: "delayed" });
    assert.equal(all.total, 4);
    const p1 = await ops.listTasks(deps, { state: "delayed", limit: 2 });
    const p2 = await ops.listTasks(deps, { state: "delayed", offset: 2, limit: 2 });
    assert.deepEqual(new Set([...p1.tasks, ...p2.tasks].map((t) => t.taskId)), new Set(ids));
    assert.equal(p2.tasks.at(-1)?.size, "large");
  });
});
