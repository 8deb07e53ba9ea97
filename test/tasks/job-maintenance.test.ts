import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SqlJobParametersDB } from "../../src/db/os/sql-job-parameters-db.ts";
import { SandboxMetadataDB } from "../../src/db/sql/sandbox-metadata-db.ts";
import { TaskQueueDB, type TaskQueueDefinition } from "../../src/db/sql/task-queue-db.ts";
import { makeSandboxPfn } from "../../src/sandbox/pfn.ts";
import type { StalledJobsResult } from "../../tasks/jobs/stalled-jobs.ts";
import { STALLED_TOO_LONG } from "../../tasks/jobs/stalled-jobs.ts";
import { cleanTaskQueues, type TaskQueueCleanupResult } from "../../tasks/jobs/clean-task-queues.ts";
import { JobDB } from "../../src/db/sql/job-db.ts";
import { insertJobs, setupTaskEnv, statuses, TEST_CONFIG, type BackendName, type TaskEnv } from "./harness.ts";

const jdl = `[ Executable = "run.sh"; ]`;
const HOUR = 3_600_000;
const ago = (ms: number): Date => new Date(Date.now() - ms);
const def = (cpu: number): TaskQueueDefinition => ({ Owner: "alice", OwnerGroup: "lhcb_user", VO: "lhcb", CPUTime: cpu, Platforms: ["x86_64-el9"] });

for (const backend of ["postgresql", "pglite"] as BackendName[]) {
  describe(`job maintenance tasks (${backend})`, () => {
    let te: TaskEnv;
    before(async () => {
      te = await setupTaskEnv({ backend });
    });
    after(() => te.close());

    it("stalled-job detection: silent Running jobs become Stalled, long-Stalled jobs Failed", async () => {
      const [silent, alive, longStalled, newStalled, neverBeat] = await insertJobs(te, [
        { jdl, status: "Running", attributes: { HeartBeatTime: ago(3 * HOUR), StartExecTime: ago(4 * HOUR) } },
        { jdl, status: "Running", attributes: { HeartBeatTime: ago(HOUR / 6), StartExecTime: ago(4 * HOUR) } },
        { jdl, status: "Stalled", attributes: { LastUpdateTime: ago(48 * HOUR), HeartBeatTime: ago(50 * HOUR) } },
        { jdl, status: "Stalled", attributes: { LastUpdateTime: ago(HOUR), HeartBeatTime: ago(3 * HOUR) } },
        { jdl, status: "Running", attributes: { StartExecTime: ago(5 * HOUR) } },
      ]);
      const res = await te.runOk<StalledJobsResult>("jobs:StalledJobsTask");
      assert.deepEqual([...res.stalled].sort((a, b) => a - b), [silent, neverBeat]);
      assert.deepEqual(res.failed, [longStalled]);
      assert.deepEqual(await statuses(te, [silent!, alive!, longStalled!, newStalled!, neverBeat!]), {
        [silent!]: "Stalled",
        [alive!]: "Running",
        [longStalled!]: "Failed",
        [newStalled!]: "Stalled",
        [neverBeat!]: "Stalled",
      });
      const records = await te.jobLoggingDB().getRecords([silent!, longStalled!]);
      assert.deepEqual(records[silent!]!.at(-1)!.MinorStatus, "Job stalled: pilot not running");
      assert.deepEqual(records[longStalled!]!.at(-1)!.MinorStatus, STALLED_TOO_LONG);
    });

    it("deleted-job cleaning removes old Deleted jobs from every DB and keeps the rest", async () => {
      const [old, recent, done] = await insertJobs(te, [
        { jdl, status: "Deleted", attributes: { LastUpdateTime: ago(10 * 24 * HOUR) } },
        { jdl, status: "Deleted", attributes: { LastUpdateTime: ago(24 * HOUR) } },
        { jdl, status: "Done", attributes: { LastUpdateTime: ago(10 * 24 * HOUR) } },
      ]);
      const tq = TaskQueueDB.fromEnv(te.env);
      const sb = SandboxMetadataDB.fromEnv(te.env);
      const params = SqlJobParametersDB.fromEnv(te.env);
      await te.jobDB().insertInputData({ [old!]: ["/lhcb/f"] });
      const oldTq = await tq.insertJob(old!, 1, def(1234));
      const pfn = makeSandboxPfn({ bucket: "sandboxes", vo: "lhcb", group: "lhcb_user", user: "alice", checksum: "a".repeat(64), format: "tar.bz2" });
      await sb.insertSandbox("SandboxSE", { owner: "alice", ownerGroup: "lhcb_user", vo: "lhcb" }, pfn, 1);
      await sb.assignSandboxToJobs([old!], pfn, "Output", "SandboxSE");
      await params.upsert("lhcb", old!, { Status: "Deleted" });
      await params.upsert("lhcb", recent!, { Status: "Deleted" });

      assert.equal(await te.runOk<number>("jobs:CleanDeletedJobsTask"), 1);
      assert.deepEqual(await statuses(te, [old!, recent!, done!]), { [recent!]: "Deleted", [done!]: "Done" });
      assert.deepEqual(await te.jobDB().getJobJdls([old!]), {});
      assert.deepEqual(await te.jobDB().getInputData([old!]), {});
      const records = await te.jobLoggingDB().getRecords([old!, recent!]);
      assert.equal(records[old!], undefined);
      assert.equal(records[recent!]!.length, 1);
      assert.equal((await tq.retrieveTaskQueues([oldTq]))[oldTq], undefined, "its task queue, left empty, is gone");
      assert.equal(await sb.sandboxIsAssigned(pfn, "SandboxSE"), false, "its sandbox is unassigned for the sandbox cleaner");
      const docs = await params.search(["JobID"], [{ parameter: "JobID", operator: "in", values: [old!, recent!] }], []);
      assert.deepEqual(docs.results.map((d) => d.JobID), [recent]);
      assert.equal(await te.runOk<number>("jobs:CleanDeletedJobsTask"), 0);
    });

    it("task-queue clean-up drops entries of jobs no longer Waiting, empty queues, and recalculates shares", async () => {
      const tq = TaskQueueDB.fromEnv(te.env);
      const [waiting, killed] = await insertJobs(te, [{ jdl, status: "Waiting" }, { jdl, status: "Killed" }]);
      const gone = 987_654;
      const tq1 = await tq.insertJob(waiting!, 1, def(100));
      await tq.insertJob(gone, 1, def(100));
      const tq2 = await tq.insertJob(killed!, 1, def(200));
      const tq3 = await tq.findOrCreateTaskQueue(def(300));
      const res = await te.runOk<TaskQueueCleanupResult>("jobs:CleanTaskQueuesTask");
      assert.deepEqual([...res.removedJobs].sort((a, b) => a - b), [killed, gone].sort((a, b) => a! - b!));
      assert.ok(res.deletedTaskQueues.includes(tq2) && res.deletedTaskQueues.includes(tq3));
      const left = await tq.retrieveTaskQueues([tq1, tq2, tq3]);
      assert.deepEqual(Object.keys(left).map(Number), [tq1]);
      assert.equal(left[tq1]!.Jobs, 1);
      assert.ok(Math.abs(left[tq1]!.Priority - 1000) < 0.01, `alice's only queue gets lhcb_user's whole share, got ${left[tq1]!.Priority}`);
    });

    it("the task-queue clean-up scans queue entries through TaskQueueDB, so an extension's subclass decides which", async () => {
      const [seen, hidden] = await insertJobs(te, [{ jdl, status: "Killed" }, { jdl, status: "Killed" }]);
      const tq = TaskQueueDB.fromEnv(te.env);
      await tq.insertJob(seen!, 1, def(400));
      await tq.insertJob(hidden!, 1, def(500));
      // An extension that keeps some entries out of core's clean-up (e.g. owned by its own matcher).
      class ScopedTaskQueueDB extends TaskQueueDB {
        override async queuedJobIdsAfter(afterJobId: number, limit: number): Promise<number[]> {
          return (await super.queuedJobIdsAfter(afterJobId, limit)).filter((id) => id !== hidden);
        }
      }
      const res = await cleanTaskQueues({ config: TEST_CONFIG, taskQueueDB: ScopedTaskQueueDB.fromEnv<ScopedTaskQueueDB>(te.env), jobDB: JobDB.fromEnv<JobDB>(te.env) });
      assert.ok(res.removedJobs.includes(seen!), `the scanned Killed job leaves its queue: ${JSON.stringify(res)}`);
      assert.ok(!res.removedJobs.includes(hidden!), "the entry the subclass does not list stays");
      const queued = await tq.queuedJobIdsAfter(0, 10_000);
      assert.ok(queued.includes(hidden!) && !queued.includes(seen!));
    });
  });
}
