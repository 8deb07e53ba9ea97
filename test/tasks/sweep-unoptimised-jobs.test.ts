import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OptimizeJobsTask } from "../../tasks/jobs/optimize-jobs.ts";
import { SweepUnoptimisedJobsTask, type JobSweepResult } from "../../tasks/jobs/sweep-unoptimised-jobs.ts";
import { CapturingSubmitter, insertJobs, setupTaskEnv, statuses, type BackendName, type TaskEnv } from "./harness.ts";

const jdl = `[ Executable = "run.sh"; ]`;
const ago = (ms: number): Date => new Date(Date.now() - ms);
const HOUR = 3_600_000;

for (const backend of ["postgresql", "pglite"] as BackendName[]) {
  describe(`no job left behind: the sweep of jobs awaiting optimisation (${backend})`, () => {
    let te: TaskEnv;
    before(async () => {
      te = await setupTaskEnv({ backend, extraEnv: { DIRACX_TASKS_JOB_SWEEP_AGE_SECONDS: "600", DIRACX_TASKS_JOB_SWEEP_BATCH_SIZE: "150" } });
    });
    after(() => te.close());

    it("the optimiser and the executor are dead-letter eligible; the sweep is scheduled by default", () => {
      assert.equal(te.tasks.get("jobs:OptimizeJobsTask").dlqEligible, true);
      assert.equal(te.tasks.get("jobs:DummyJobExecutorTask").dlqEligible, true);
      assert.ok(SweepUnoptimisedJobsTask.defaultSchedule, "scheduled without any configuration");
      assert.equal(SweepUnoptimisedJobsTask.enabled, true);
    });

    it("re-submits optimisation for jobs left Received/Checking longer than the age, and only those; the optimiser then moves them on", async () => {
      const [oldReceived, oldChecking, fresh, oldWaiting] = await insertJobs(te, [
        { jdl, attributes: { LastUpdateTime: ago(HOUR) } },
        { jdl, status: "Checking", minorStatus: "JobSanity", attributes: { LastUpdateTime: ago(2 * HOUR) } },
        { jdl, attributes: { LastUpdateTime: ago(60_000) } },
        { jdl, status: "Waiting", attributes: { LastUpdateTime: ago(HOUR) } },
      ]);
      const submitter = new CapturingSubmitter();
      const res = await te.runOk<JobSweepResult>("jobs:SweepUnoptimisedJobsTask", {}, { submitter });
      assert.deepEqual([...res.resubmitted].sort((a, b) => a - b), [oldReceived, oldChecking]);
      assert.deepEqual(submitter.spawned.map((s) => [s.cls, s.args]), [[OptimizeJobsTask, { jobIds: res.resubmitted }]]);
      for (const s of submitter.spawned) await te.runOk("jobs:OptimizeJobsTask", s.args);
      const st = await statuses(te, [oldReceived!, oldChecking!, fresh!, oldWaiting!]);
      assert.deepEqual(st, { [oldReceived!]: "Waiting", [oldChecking!]: "Waiting", [fresh!]: "Received", [oldWaiting!]: "Waiting" });
      // Nothing is left for a second sweep.
      assert.deepEqual((await te.runOk<JobSweepResult>("jobs:SweepUnoptimisedJobsTask")).resubmitted, []);
    });

    it("splits a large backlog into optimiser-sized tasks and re-submits itself after a full batch", async () => {
      const ids = await insertJobs(te, Array.from({ length: 160 }, () => ({ jdl, attributes: { LastUpdateTime: ago(HOUR) } })));
      const submitter = new CapturingSubmitter();
      const res = await te.runOk<JobSweepResult>("jobs:SweepUnoptimisedJobsTask", {}, { submitter });
      assert.equal(res.resubmitted.length, 150, "one batch per run");
      const optimisations = submitter.spawned.filter((s) => s.cls === OptimizeJobsTask);
      assert.deepEqual(optimisations.map((s) => (s.args.jobIds as number[]).length), [100, 50]);
      assert.equal(submitter.spawned.filter((s) => s.cls === SweepUnoptimisedJobsTask).length, 1, "the sweep comes back for the rest");
      for (const s of optimisations) await te.runOk("jobs:OptimizeJobsTask", s.args);
      const again = await te.runOk<JobSweepResult>("jobs:SweepUnoptimisedJobsTask");
      assert.deepEqual(new Set([...res.resubmitted, ...again.resubmitted]), new Set(ids));
    });
  });
}
