import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { LockManager } from "../../src/locks/index.ts";
import { withProducer } from "../../src/engine/task.ts";
import { Producer } from "../../src/engine/producer.ts";
import { TaskWorker } from "../../src/engine/worker.ts";
import { OptimizeJobsTask as CoreOptimizeJobsTask, optimizeJobs } from "../../tasks/jobs/optimize-jobs.ts";
import { insertJobs, setupTaskEnv, statuses, type TaskEnv } from "../tasks/harness.ts";
import { RedisServer } from "../support/redis.ts";
import { waitFor } from "../engine/support.ts";
import { MARKER } from "../fixtures/optimizer-ext/tasks.ts";

const appRoot = path.resolve(import.meta.dirname, "../fixtures/optimizer-ext");
const jdl = `[ Executable = "run.sh"; Platform = "el8"; ]`;

describe("an extension replacing jobs:OptimizeJobsTask (real Redis, PostgreSQL and worker)", () => {
  let server: RedisServer;
  let redis: Redis;
  let te: TaskEnv;
  let producer: Producer;
  let worker: TaskWorker;

  before(async () => {
    server = await RedisServer.start();
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
    te = await setupTaskEnv({ backend: "postgresql", appRoot });
    producer = new Producer({ connection: server.url, registry: te.tasks });
    worker = new TaskWorker({
      size: "small",
      concurrency: 2,
      connection: server.url,
      registry: te.tasks,
      submitter: producer,
      openUnitOfWork: te.openUow,
      lockManager: new LockManager(redis),
    });
    await worker.start();
  });
  after(async () => {
    await worker?.close(1_000);
    await producer?.close();
    redis?.disconnect();
    await te?.close();
    await server?.stop();
  });

  it("registers the subclass under core's id, and core's class still resolves to that id", () => {
    const registered = te.tasks.get("jobs:OptimizeJobsTask");
    assert.notEqual(registered, CoreOptimizeJobsTask);
    assert.equal(te.registry.candidates("diracx.tasks.jobs", "OptimizeJobsTask")[0]?.package, "optimizer-ext");
    assert.equal(te.tasks.idOf(CoreOptimizeJobsTask), "jobs:OptimizeJobsTask");
    assert.equal(te.tasks.resolve(CoreOptimizeJobsTask).cls, registered);
  });

  it("jobs submitted through core's optimizeJobs() are optimised by the subclass", async () => {
    const ids = await insertJobs(te, [{ jdl }, { jdl }, { jdl }]);
    const taskIds = await withProducer(producer, () => optimizeJobs(ids));
    assert.equal(taskIds.length, 1);

    const st = await waitFor("the jobs to be Waiting", async () => {
      const s = await statuses(te, ids);
      return ids.every((id) => s[id] === "Waiting") ? s : undefined;
    });
    assert.deepEqual(Object.values(st), ["Waiting", "Waiting", "Waiting"]);
    const params = await te.jobDB().getJobParameters(ids, "OptimizerParameters");
    for (const id of ids) assert.equal(params[id]?.[MARKER.name], MARKER.value, `job ${id} carries the subclass's marker`);
  });
});
