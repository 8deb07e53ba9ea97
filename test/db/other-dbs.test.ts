import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { AlreadyExistsError, NotFoundError } from "../../src/db/errors.ts";
import { closeAllEngines, getEngine } from "../../src/db/sql/engine.ts";
import { PilotAgentsDB } from "../../src/db/sql/pilot-agents-db.ts";
import { SandboxMetadataDB } from "../../src/db/sql/sandbox-metadata-db.ts";
import { TaskDB } from "../../src/db/sql/task-db.ts";
import { backends } from "./backends.ts";

after(() => closeAllEngines());

for (const backend of backends) {
  describe(`PilotAgentsDB, SandboxMetadataDB, TaskDB on ${backend.name}`, () => {
    let pilots: PilotAgentsDB;
    let sandboxes: SandboxMetadataDB;
    let tasks: TaskDB;

    before(async () => {
      const url = await backend.url();
      // TaskDB's second migration adds the dashboard's audit table (operator_actions), the third
      // the scheduler's queue snapshots and broker wipes.
      for (const [C, n] of [[PilotAgentsDB, 1], [SandboxMetadataDB, 1], [TaskDB, 3]] as const) {
        assert.equal((await C.migrate(url)).applied.length, n);
        assert.equal((await C.migrate(url)).applied.length, 0);
      }
      const engine = getEngine(url);
      pilots = new PilotAgentsDB(engine);
      sandboxes = new SandboxMetadataDB(engine);
      tasks = new TaskDB(engine);
    });

    test("pilots: register, assign jobs, update metadata, search", async () => {
      const ids = await pilots.registerPilots({ stamps: ["stampA", "stampB"], vo: "lhcb", gridSite: "CERN" });
      assert.deepEqual(Object.keys(ids).sort(), ["stampA", "stampB"]);
      await assert.rejects(pilots.registerPilots({ stamps: ["stampA"], vo: "lhcb" }), AlreadyExistsError);
      await pilots.assignJobsToPilot(ids.stampA!, [10, 11]);
      await assert.rejects(pilots.assignJobsToPilot(ids.stampA!, [11]), AlreadyExistsError);
      assert.deepEqual(await pilots.getJobIdsForStamps(["stampA", "stampB"]), { stampA: [10, 11] });
      assert.deepEqual(await pilots.getPilotIdsForJobIds([10]), { 10: [ids.stampA] });
      await pilots.updatePilotMetadata({ stampA: { Status: "Running", BenchMark: 12.5 }, stampB: { Status: "Done", StatusReason: "ok" } });
      await assert.rejects(pilots.updatePilotMetadata({ stampZ: { Status: "Done" } }), /pilots not found: stampZ/);
      const res = await pilots.search({ parameters: ["PilotStamp", "Status", "BenchMark", "GridType"], sorts: [{ parameter: "PilotStamp", direction: "asc" }] });
      assert.equal(res.total, 2);
      assert.deepEqual(res.rows, [
        { PilotStamp: "stampA", Status: "Running", BenchMark: 12.5, GridType: "DIRAC" },
        { PilotStamp: "stampB", Status: "Done", BenchMark: 0, GridType: "DIRAC" },
      ]);
      assert.deepEqual(await pilots.summary(["Status"]), [{ Status: "Done", count: 1 }, { Status: "Running", count: 1 }]);
      await pilots.setPilotOutput(ids.stampA!, "out", "err");
      assert.deepEqual(await pilots.getPilotOutput(ids.stampA!), { stdOutput: "out", stdError: "err" });
      assert.equal(await pilots.deletePilots([ids.stampA!]), 1);
      assert.deepEqual(await pilots.getJobIdsForStamps(["stampA"]), {});
    });

    test("sandboxes: owners, insert, assign/unassign, selection for deletion with a cursor", async () => {
      const owner = { owner: "alice", ownerGroup: "lhcb_user", vo: "lhcb" };
      const ownerId = await sandboxes.insertOwner(owner);
      assert.equal(await sandboxes.insertOwner(owner), ownerId);
      assert.equal(await sandboxes.getOwnerId(owner), ownerId);
      const pfn = (n: number) => SandboxMetadataDB.pfn("bucket", owner, { checksumAlgorithm: "sha256", checksum: String(n).padStart(64, "0"), format: "tar.bz2" });
      assert.equal(SandboxMetadataDB.s3Key(pfn(1)), `lhcb/lhcb_user/alice/sha256:${"1".padStart(64, "0")}.tar.bz2`);
      const sb = [];
      for (let i = 1; i <= 4; i++) sb.push(await sandboxes.insertSandbox("SandboxSE", owner, pfn(i), 100 * i));
      await assert.rejects(sandboxes.insertSandbox("SandboxSE", owner, pfn(1), 1), AlreadyExistsError);
      assert.equal(await sandboxes.getSandboxOwnerId(pfn(1), "SandboxSE"), ownerId);

      await sandboxes.assignSandboxToJobs([1, 2], pfn(1), "Input", "SandboxSE");
      await sandboxes.assignSandboxToJobs([3], pfn(2), "Output", "SandboxSE");
      await assert.rejects(sandboxes.assignSandboxToJobs([1], pfn(1), "Input", "SandboxSE"), AlreadyExistsError);
      await assert.rejects(sandboxes.assignSandboxToJobs([1], "/S3/nope", "Input", "SandboxSE"), NotFoundError);
      assert.deepEqual(await sandboxes.getSandboxAssignedToJob(1, "Input"), [`SB:SandboxSE|${pfn(1)}`]);
      assert.equal(await sandboxes.sandboxIsAssigned(pfn(1), "SandboxSE"), true);

      // Job 1 unassigned: sandbox 1 still used by job 2. Job 2 too: sandbox 1 becomes unassigned.
      await sandboxes.unassignSandboxesToJobs([1]);
      assert.equal(await sandboxes.sandboxIsAssigned(pfn(1), "SandboxSE"), true);
      await sandboxes.unassignSandboxesToJobs([2]);
      assert.equal(await sandboxes.sandboxIsAssigned(pfn(1), "SandboxSE"), false);

      // An orphan: assigned flag set but its mapping removed behind its back.
      await sandboxes.db.deleteFrom("sb_EntityMapping").where("SBId", "=", sb[1]!).execute();
      const now = new Date();
      await sandboxes.updateSandboxLastAccessTime("SandboxSE", pfn(3), new Date(now.getTime() - 20 * 86_400_000));
      await sandboxes.updateSandboxLastAccessTime("SandboxSE", pfn(4), new Date(now.getTime() - 20 * 86_400_000));
      await assert.rejects(sandboxes.updateSandboxLastAccessTime("SandboxSE", "/S3/missing"), NotFoundError);

      const first = await sandboxes.selectSandboxesForDeletion({ seName: "SandboxSE", batchSize: 2, now });
      assert.deepEqual(first.ids, [sb[1], sb[2]]);
      const second = await sandboxes.selectSandboxesForDeletion({ seName: "SandboxSE", batchSize: 2, cursor: first.cursor, now });
      assert.deepEqual(second.ids, [sb[3]]);
      assert.deepEqual(second.pfns, [pfn(4)]);
      const third = await sandboxes.selectSandboxesForDeletion({ seName: "SandboxSE", batchSize: 2, cursor: second.cursor, now });
      assert.deepEqual(third.ids, []);
      assert.equal(await sandboxes.deleteSandboxes([...first.ids, ...second.ids]), 3);
      assert.equal(await sandboxes.getSandboxOwnerId(pfn(2), "SandboxSE"), undefined);
    });

    test("dead-letter queue: insert with every error, filter, resubmit exactly once, resolve, discard, delete", async () => {
      const errors = [
        { attempt: 1, type: "TimeoutError", message: "took too long", at: "2024-01-01T00:00:00Z" },
        { attempt: 2, type: "ValueError", message: "bad value", stack: "ValueError: bad value\n  at x", at: "2024-01-01T00:01:00Z" },
      ];
      const id = await tasks.insertDeadLetter({ taskId: "t-1", taskName: "lollygag:SyncOwnersTask", args: { ownerName: "bob" }, labels: { vo: "lhcb" }, vo: "lhcb", firstSubmittedAt: new Date("2024-01-01T00:00:00Z"), attempts: 2, errors });
      const other = await tasks.insertDeadLetter({ taskId: "t-2", taskName: "core:Other", args: [1, 2], vo: null, firstSubmittedAt: new Date(), attempts: 1, errors: [errors[0]!] });
      const entry = await tasks.get(id);
      assert.equal(entry?.status, "pending");
      assert.equal(entry?.lastErrorType, "ValueError");
      assert.equal(entry?.lastErrorStack, "ValueError: bad value\n  at x");
      assert.deepEqual(entry?.errors, errors);
      assert.deepEqual(entry?.args, { ownerName: "bob" });
      assert.deepEqual(entry?.labels, { vo: "lhcb" });

      assert.deepEqual((await tasks.list({ vo: "lhcb" })).map((e) => e.id), [id]);
      assert.deepEqual((await tasks.list({ taskName: "core:Other" })).map((e) => e.id), [other]);
      assert.equal(await tasks.count({ status: "pending" }), 2);
      assert.equal(await tasks.count({ olderThan: new Date(Date.now() - 3_600_000) }), 0);
      await assert.rejects(tasks.list({ status: "bogus" as never }), /unknown dead-letter status 'bogus'/);

      const claims = await Promise.all([tasks.markResubmitted(id, "t-1-r1"), tasks.markResubmitted(id, "t-1-r2")]);
      assert.deepEqual(claims.sort(), [false, true]);
      const resubmitted = await tasks.get(id);
      assert.equal(resubmitted?.status, "resubmitted");
      assert.ok(["t-1-r1", "t-1-r2"].includes(resubmitted?.resubmittedTaskId ?? ""));
      assert.equal(await tasks.markResolved(resubmitted!.resubmittedTaskId!), 1);
      assert.equal((await tasks.get(id))?.status, "resolved");
      assert.equal(await tasks.markDiscarded(id), false);
      assert.equal(await tasks.markDiscarded(other), true);
      assert.equal(await tasks.count({ status: ["resolved", "discarded"] }), 2);
      assert.equal(await tasks.delete([id, other]), 2);
      assert.equal(await tasks.get(id), undefined);
    });
  });
}
