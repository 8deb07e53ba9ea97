import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { ExponentialBackoff, LockManager, MutexLock } from "diracx-tasks";
import { LollygagDB, MyPilotDB, MyPilotTask, PilotSubmissionError, SyncOwnersTask, setRandomSource, type OwnerReport, type PilotTransitions } from "../src/index.ts";
import { LOLLYGAG } from "../src/lock-types.ts";
import { CapturingSubmitter, GUBBINS_ROOT, setupTaskEnv, type TaskEnv } from "../../../test/tasks/harness.ts";
import { RedisServer } from "../../../test/support/redis.ts";

/** A random source returning these values in turn. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => {
    const v = values[i++];
    if (v === undefined) throw new Error("random sequence exhausted");
    return v;
  };
}

describe("gubbins tasks on PostgreSQL", () => {
  let te: TaskEnv;
  let redisServer: RedisServer;
  let redis: Redis;
  before(async () => {
    te = await setupTaskEnv({ backend: "postgresql", appRoot: GUBBINS_ROOT });
    redisServer = await RedisServer.start();
    redis = new Redis(redisServer.url);
  });
  after(async () => {
    setRandomSource();
    redis.disconnect();
    await redisServer.stop();
    await te.close();
  });

  describe("lollygag", () => {
    it("SyncOwnersTask: small, retried 3 times, dead-letter eligible; creates the owner once", async () => {
      assert.equal(SyncOwnersTask.size, "small");
      assert.equal(SyncOwnersTask.dlqEligible, true);
      assert.equal((SyncOwnersTask.retryPolicy as ExponentialBackoff).maxRetries, 3);
      const id = await te.runOk<number>("lollygag:SyncOwnersTask", { ownerName: "frodo" });
      assert.equal(await te.runOk<number>("lollygag:SyncOwnersTask", { ownerName: "frodo" }), id);
      assert.deepEqual(await LollygagDB.fromEnv(te.env).getOwners(), ["frodo"]);
    });

    it("SyncOwnersTask waits while another holds the owner's lollygag mutex", async () => {
      const locks = new LockManager(redis);
      const held = await locks.acquireAll([new MutexLock(LOLLYGAG, "sam")], "someone-else", 30_000);
      assert.ok(held.acquired);
      const outcome = await te.run("lollygag:SyncOwnersTask", { ownerName: "sam" }, { lockManager: locks });
      assert.equal(outcome.kind, "deferred");
      assert.match(outcome.kind === "deferred" ? outcome.blockedBy : "", /lollygag/);
      if (held.acquired) await locks.releaseAll(held.held);
      assert.equal((await te.run("lollygag:SyncOwnersTask", { ownerName: "sam" }, { lockManager: locks })).kind, "completed");
    });

    it("OwnerCleanupTask merges owners registered twice, keeping their cars", async () => {
      const db = LollygagDB.fromEnv(te.env);
      await db.insertOwner("pippin");
      const dup = await db.insertOwner("pippin");
      const plate = await db.insertCar("pony", dup);
      assert.equal(await te.runOk<number>("lollygag:OwnerCleanupTask"), 1);
      const owners = await db.getOwners();
      assert.equal(owners.filter((o) => o === "pippin").length, 1);
      assert.notEqual((await db.getCar(plate)).ownerId, dup, "the car moved to the kept owner");
      assert.equal(await te.runOk<number>("lollygag:OwnerCleanupTask"), 0);
    });

    it("OwnerReportTask reports per VO", async () => {
      const report = await te.runOk<OwnerReport>("lollygag:OwnerReportTask", { vo: "lhcb" });
      assert.equal(report.vo, "lhcb");
      assert.ok(report.owners.includes("frodo"));
      assert.deepEqual(report.carsByModel, { pony: 1 });
    });
  });

  describe("my_pilots", () => {
    before(async () => {
      const db = MyPilotDB.fromEnv(te.env);
      await db.addCe("ce-lhcb-a", 2, 0.9, true, "lhcb");
      await db.addCe("ce-lhcb-full", 1, 0.9, true, "lhcb");
      await db.addCe("ce-gridpp", 3, 0.5, true, "gridpp");
      await db.submitPilot("ce-lhcb-full");
      await db.submitPilot("ce-gridpp");
    });

    it("MySubmitPilotsTask spawns one MyPilotTask per free slot of the VO's own CEs only", async () => {
      const submitter = new CapturingSubmitter();
      assert.equal(await te.runOk<number>("my_pilots:MySubmitPilotsTask", { vo: "lhcb" }, { submitter }), 2);
      assert.ok(submitter.spawned.every((s) => s.cls === MyPilotTask));
      assert.deepEqual(submitter.spawned.map((s) => s.args.ceName), ["ce-lhcb-a", "ce-lhcb-a"]);
    });

    it("MyPilotTask submits a pilot, or fails with PilotSubmissionError (no retry) as the success rate says", async () => {
      setRandomSource(sequence(0.1, 0.95));
      const pilotId = await te.runOk<number>("my_pilots:MyPilotTask", { ceName: "ce-lhcb-a" });
      const failed = await te.run("my_pilots:MyPilotTask", { ceName: "ce-lhcb-a" });
      assert.equal(failed.kind, "failed");
      assert.ok(failed.kind === "failed" && failed.error instanceof PilotSubmissionError);
      assert.equal(MyPilotTask.retryPolicy.constructor.name, "NoRetry");
      const submitted = await MyPilotDB.fromEnv(te.env).getPilotsByStatus("submitted", "lhcb");
      assert.deepEqual(submitted.map((p) => p.ceName).sort(), ["ce-lhcb-a", "ce-lhcb-full"]);
      assert.ok(submitted.some((p) => p.pilotId === pilotId));
    });

    it("MyCheckPilotsTask starts submitted pilots, then finishes running ones, for its VO only", async () => {
      setRandomSource(sequence(0.5, 0.99));
      const first = await te.runOk<PilotTransitions>("my_pilots:MyCheckPilotsTask", { vo: "lhcb" });
      assert.equal(first.started.length, 2);
      assert.deepEqual([first.done, first.failed], [[], []]);
      const second = await te.runOk<PilotTransitions>("my_pilots:MyCheckPilotsTask", { vo: "lhcb" });
      assert.deepEqual(second.started, []);
      assert.deepEqual([...second.done, ...second.failed].sort(), [...first.started].sort());
      assert.equal(second.done.length, 1);
      assert.equal(second.failed.length, 1);
      const summary = await te.runOk<Record<string, number>>("my_pilots:MyPilotReportTask");
      assert.deepEqual(summary, { submitted: 1, running: 0, done: 1, failed: 1 }, "gridpp's pilot is untouched");
    });
  });
});
