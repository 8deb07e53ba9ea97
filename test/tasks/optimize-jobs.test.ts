import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { withProducer } from "../../src/engine/context.ts";
import { TaskQueueDB } from "../../src/db/sql/task-queue-db.ts";
import { MAX_JOBS_PER_OPTIMIZER_TASK, OptimizeJobsTask, OptimizerMinorStatus, optimizeJobs, type OptimizationResult } from "../../tasks/jobs/optimize-jobs.ts";
import { CapturingSubmitter, GUBBINS_ROOT, insertJobs, setupTaskEnv, statuses, type BackendName, type TaskEnv } from "./harness.ts";

const jdl = (body: string): string => `[ Executable = "run.sh"; ${body} ]`;

for (const backend of ["postgresql", "pglite"] as BackendName[]) {
  describe(`optimisation on submission (core, ${backend})`, () => {
    let te: TaskEnv;
    before(async () => {
      te = await setupTaskEnv({ backend });
    });
    after(() => te.close());

    it("queues passing jobs with their requirements and core's compatible platforms, and fails the others with a clear minor status", async () => {
      const [el8, el9Site, anyPlatform, tooMuchData, badType, allBanned, badJdl] = await insertJobs(te, [
        { jdl: jdl(`Platform = "el8"; CPUTime = 5000; Tags = {"GPU"}; InputData = {"/lhcb/data/f1", "LFN:/lhcb/data/f2"};`) },
        { jdl: jdl(`Platform = "el9"; Site = {"LCG.CERN.cern", "LCG.RAL.uk"}; BannedSites = "LCG.RAL.uk"; JobType = "Test"; Priority = 3;`) },
        { jdl: jdl(`Platform = "ANY";`) },
        { jdl: jdl(`InputData = {"/lhcb/a", "/lhcb/b", "/lhcb/c", "/lhcb/d"};`) },
        { jdl: jdl(`JobType = "Spaceship";`) },
        { jdl: jdl(`Site = "LCG.CERN.cern"; BannedSites = {"LCG.CERN.cern"};`) },
        { jdl: `[ Executable = "run.sh"; Arguments = "unterminated ]` },
      ]);
      const ids = [el8!, el9Site!, anyPlatform!, tooMuchData!, badType!, allBanned!, badJdl!];
      const res = await te.runOk<OptimizationResult>("jobs:OptimizeJobsTask", { jobIds: ids });

      assert.deepEqual(Object.keys(res.queued).map(Number).sort((a, b) => a - b), [el8, el9Site]);
      assert.deepEqual(res.failed, {
        [anyPlatform!]: OptimizerMinorStatus.NoPlatform,
        [tooMuchData!]: OptimizerMinorStatus.TooManyInputData(3),
        [badType!]: OptimizerMinorStatus.JobTypeNotAllowed("Spaceship"),
        [allBanned!]: OptimizerMinorStatus.ImpossibleSites,
        [badJdl!]: OptimizerMinorStatus.JdlSyntax,
      });
      const st = await statuses(te, ids);
      assert.equal(st[el8!], "Waiting");
      assert.equal(st[el9Site!], "Waiting");
      for (const id of [anyPlatform, tooMuchData, badType, allBanned, badJdl]) assert.equal(st[id!], "Failed");

      const tqs = await TaskQueueDB.fromEnv(te.env).retrieveTaskQueues();
      const tqOf = (id: number) => tqs[res.queued[id]!]!;
      // el8 jobs run on every platform whose OS list has el8, newest first.
      assert.deepEqual(tqOf(el8!).Platforms.sort(), ["x86_64-el8", "x86_64-el9"]);
      assert.deepEqual(tqOf(el8!).Tags, ["GPU"]);
      assert.equal(tqOf(el8!).CPUTime, 5000);
      assert.deepEqual(tqOf(el8!).JobTypes, ["User"]);
      assert.deepEqual(tqOf(el9Site!).Platforms, ["x86_64-el9"]);
      assert.deepEqual(tqOf(el9Site!).Sites, ["LCG.CERN.cern"]);
      assert.deepEqual(tqOf(el9Site!).BannedSites, ["LCG.RAL.uk"]);
      assert.deepEqual(tqOf(el9Site!).JobTypes, ["Test"]);
      assert.equal(tqOf(el9Site!).CPUTime, 86400, "the VO's default CPU time");
      // Shares were recalculated: alice is lhcb_user's only owner, so her queues share its 1000.
      // (TQ_MIN_SHARE floors add at most a thousandth each.)
      const sum = tqOf(el8!).Priority + tqOf(el9Site!).Priority;
      assert.ok(Math.abs(sum - 1000) < 0.01, `priorities sum to the group share, got ${sum}`);
      assert.ok(tqOf(el9Site!).Priority > tqOf(el8!).Priority, "the job with user priority 3 weighs more");

      // Input data written to JobDB, job attributes updated.
      assert.deepEqual((await te.jobDB().getInputData([el8!]))[el8!], ["/lhcb/data/f1", "/lhcb/data/f2"]);
      const { rows } = await te.jobDB().search({ parameters: ["JobID", "Site", "UserPriority", "VerifiedFlag", "MinorStatus"], search: [{ parameter: "JobID", operator: "eq", value: el9Site! }] });
      assert.deepEqual(rows[0], { JobID: el9Site, Site: "LCG.CERN.cern", UserPriority: 3, VerifiedFlag: true, MinorStatus: OptimizerMinorStatus.Waiting });

      // The logging history shows the checks.
      const records = (await te.jobLoggingDB().getRecords([el8!, anyPlatform!]))!;
      assert.deepEqual(records[el8!]!.map((r) => r.Status), ["Received", "Checking", "Waiting"]);
      assert.deepEqual(records[anyPlatform!]!.map((r) => [r.Status, r.MinorStatus]), [
        ["Received", "Job accepted"],
        ["Checking", OptimizerMinorStatus.Checking],
        ["Failed", OptimizerMinorStatus.NoPlatform],
      ]);
    });

    it("is idempotent: already optimised and unknown jobs are skipped", async () => {
      const [id] = await insertJobs(te, [{ jdl: jdl(`Platform = "slc7";`) }]);
      const first = await te.runOk<OptimizationResult>("jobs:OptimizeJobsTask", { jobIds: [id!] });
      const again = await te.runOk<OptimizationResult>("jobs:OptimizeJobsTask", { jobIds: [id!, 999_999] });
      assert.ok(first.queued[id!]);
      assert.deepEqual(again, { queued: {}, failed: {}, skipped: [id!, 999_999] });
      assert.equal((await te.jobLoggingDB().getRecords([id!]))[id!]!.length, 3);
    });

    it("resumes a job left in Checking", async () => {
      const [id] = await insertJobs(te, [{ jdl: jdl(`Platform = "el9";`), status: "Checking", minorStatus: OptimizerMinorStatus.Checking }]);
      const res = await te.runOk<OptimizationResult>("jobs:OptimizeJobsTask", { jobIds: [id!] });
      assert.ok(res.queued[id!]);
      assert.equal((await statuses(te, [id!]))[id!], "Waiting");
    });
  });
}

describe("optimisation in a gubbins deployment", () => {
  let te: TaskEnv;
  before(async () => {
    te = await setupTaskEnv({ backend: "postgresql", appRoot: GUBBINS_ROOT });
  });
  after(() => te.close());

  it("uses gubbins' find_compatible_platforms: Platform ANY is every platform", async () => {
    const [anyPlatform, el8] = await insertJobs(te, [{ jdl: jdl(`Platform = "ANY";`) }, { jdl: jdl(`Platform = "el8";`) }]);
    const res = await te.runOk<OptimizationResult>("jobs:OptimizeJobsTask", { jobIds: [anyPlatform!, el8!] });
    assert.deepEqual(res.failed, {});
    const tqs = await TaskQueueDB.fromEnv(te.env).retrieveTaskQueues();
    assert.deepEqual(tqs[res.queued[anyPlatform!]!]!.Platforms.sort(), ["slc7", "x86_64-el8", "x86_64-el9"]);
    assert.deepEqual(tqs[res.queued[el8!]!]!.Platforms.sort(), ["x86_64-el8", "x86_64-el9"]);
  });
});

describe("optimizeJobs (producer function for routers)", () => {
  it("submits the jobs in tasks of at most MAX_JOBS_PER_OPTIMIZER_TASK, validated, through the bound producer", async () => {
    const submitter = new CapturingSubmitter();
    const ids = Array.from({ length: MAX_JOBS_PER_OPTIMIZER_TASK * 2 + 5 }, (_, i) => i + 1);
    const taskIds = await withProducer(submitter, () => optimizeJobs([...ids, 1, 2]));
    assert.equal(taskIds.length, 3);
    assert.ok(submitter.spawned.every((s) => s.cls === OptimizeJobsTask));
    assert.deepEqual(
      submitter.spawned.flatMap((s) => s.args.jobIds as number[]),
      ids,
    );
    assert.equal(OptimizeJobsTask.priority, "realtime");
  });
});
