import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import { closeAllEngines, getEngine } from "../../src/db/sql/engine.ts";
import { JobDB, compressJdl } from "../../src/db/sql/job-db.ts";
import { JobLoggingDB } from "../../src/db/sql/job-logging-db.ts";
import { TaskQueueDB } from "../../src/db/sql/task-queue-db.ts";
import { SqlJobParametersDB } from "../../src/db/os/sql-job-parameters-db.ts";
import { InvalidStatusUpdateError, setJobStatuses, type JobStatusDeps } from "../../src/logic/jobs/set-job-statuses.ts";
import { addHeartbeat } from "../../src/logic/jobs/heartbeat.ts";
import { removeJobsFromTaskQueue } from "../../src/logic/task-queues/shares.ts";
import { backends } from "../db/backends.ts";

after(() => closeAllEngines());

const config = { Registry: { lhcb: { Groups: { lhcb_user: { JobShare: 1000 }, lhcb_prod: { JobShare: 500, Properties: ["JobSharing"] } } } } };
const T = (s: number) => new Date(Date.UTC(2025, 0, 1, 12, 0, s));

for (const backend of backends) {
  describe(`job status logic on ${backend.name}`, () => {
    let jobDB: JobDB;
    let logDB: JobLoggingDB;
    let tqDB: TaskQueueDB;
    let paramsDB: SqlJobParametersDB;
    let deps: JobStatusDeps & { jobDB: JobDB };

    before(async () => {
      const url = await backend.url();
      for (const C of [JobDB, JobLoggingDB, TaskQueueDB, SqlJobParametersDB]) await C.migrate(url);
      const engine = getEngine(url);
      jobDB = new JobDB(engine);
      logDB = new JobLoggingDB(engine);
      tqDB = new TaskQueueDB(engine);
      paramsDB = new SqlJobParametersDB(engine);
      deps = { config, jobDB, jobLoggingDB: logDB, taskQueueDB: tqDB, jobParametersDB: paramsDB };
    });

    async function newJob(status = "Received", at: Date | undefined = T(0), extra: Record<string, unknown> = {}): Promise<number> {
      const id = await jobDB.createJob(compressJdl('[Executable = "echo";]'));
      await jobDB.insertJobAttributes({ [id]: { Owner: "alice", OwnerGroup: "lhcb_user", VO: "lhcb", Status: status, ...extra } });
      if (at) await logDB.insertRecords([{ jobId: id, status, minorStatus: "Job accepted", applicationStatus: "Unknown", date: at, source: "JobManager" }]);
      return id;
    }
    async function job(id: number) {
      const r = await jobDB.search({ search: [{ parameter: "JobID", operator: "eq", value: id }] });
      return r.rows[0]!;
    }

    test("walks a job through the state machine, recording start/end times and logging every update", async () => {
      const id = await newJob();
      const res = await setJobStatuses(
        {
          [id]: [
            // Given out of order: applied by time.
            { time: T(3), status: "Done", minorStatus: "Execution Complete", source: "JobWrapper" },
            { time: T(1), status: "Waiting", minorStatus: "Pilot Agent Submission", source: "Optimizer" },
            { time: T(2), status: "Matched", source: "Matcher" },
          ],
        },
        deps,
        { now: T(10) },
      );
      assert.deepEqual(res.failed, {});
      // Waiting → Matched → Done: Matched cannot go to Done, so the state machine keeps Matched.
      const j = await job(id);
      assert.equal(j.Status, "Matched");
      assert.equal(j.MinorStatus, "Execution Complete");
      assert.deepEqual(res.success[id]?.Status, "Matched");
      assert.deepEqual(j.LastUpdateTime, T(10));
      // The end time is history: the job did report Done.
      assert.deepEqual(j.EndExecTime, T(3));
      // "JobWrapper" is a Job* source: the job is alive.
      assert.deepEqual(j.HeartBeatTime, T(3));
      const recs = (await logDB.getRecords([id]))[id]!;
      assert.deepEqual(
        recs.map((r) => [r.Status, r.MinorStatus, r.Source]),
        [
          ["Received", "Job accepted", "JobManager"],
          ["Waiting", "Pilot Agent Submission", "Optimizer"],
          ["Matched", "Pilot Agent Submission", "Matcher"],
          ["Done", "Execution Complete", "JobWrapper(SM)"],
        ],
      );
      const p = await paramsDB.search(["Status"], [{ parameter: "JobID", operator: "eq", value: id }], []);
      assert.deepEqual(p.results, [{ Status: "Matched" }]);
    });

    test("sets StartExecTime at the first Running and EndExecTime at the first final state", async () => {
      const id = await newJob("Matched");
      await setJobStatuses({ [id]: [{ time: T(5), status: "Running", source: "JobAgent" }, { time: T(9), status: "Done", source: "JobWrapper" }] }, deps);
      const j = await job(id);
      assert.equal(j.Status, "Done");
      assert.deepEqual(j.StartExecTime, T(5));
      assert.deepEqual(j.EndExecTime, T(9));
      // Already set: a later Running does not move StartExecTime, and Done refuses Running.
      await setJobStatuses({ [id]: [{ time: T(20), status: "Running", source: "Admin" }] }, deps);
      const j2 = await job(id);
      assert.equal(j2.Status, "Done");
      assert.deepEqual(j2.StartExecTime, T(5));
    });

    test("force bypasses the state machine", async () => {
      const id = await newJob("Done");
      await setJobStatuses({ [id]: [{ time: T(5), status: "Running", source: "Admin" }] }, deps, { force: true });
      assert.equal((await job(id)).Status, "Running");
    });

    test("updates older than the last logged one are logged but do not change the status", async () => {
      const id = await newJob("Running", T(50));
      await setJobStatuses({ [id]: [{ time: T(40), status: "Failed", minorStatus: "late", source: "X" }] }, deps);
      const j = await job(id);
      assert.equal(j.Status, "Running");
      assert.equal(j.MinorStatus, "Unknown");
      assert.equal((await logDB.getRecords([id]))[id]!.length, 2);
    });

    test("a Stalled job counts as Running; a heartbeat source sets HeartBeatTime", async () => {
      const id = await newJob("Stalled");
      await setJobStatuses({ [id]: [{ time: T(5), status: "Done", source: "JobWrapper" }] }, deps);
      const j = await job(id);
      assert.equal(j.Status, "Done", "Stalled → Done is not allowed, Running → Done is");
      assert.deepEqual(j.HeartBeatTime, T(5));
    });

    test("a job without logging records does not raise", async () => {
      const id = await newJob("Received", undefined);
      const res = await setJobStatuses({ [id]: [{ time: T(1), status: "Checking", source: "Optimizer" }] }, deps);
      assert.equal(res.success[id]?.Status, "Checking");
      assert.equal((await job(id)).Status, "Checking");
    });

    test("missing fields are logged as idem, additional attributes apply on a status change", async () => {
      const id = await newJob("Failed");
      await setJobStatuses({ [id]: [{ time: T(5), status: "Rescheduled" }] }, deps, { additionalAttributes: { [id]: { RescheduleCounter: 1, Site: "ANY" } } });
      const j = await job(id);
      assert.equal(j.Status, "Rescheduled");
      assert.equal(j.RescheduleCounter, 1);
      const raw = await sql<{ Status: string; MinorStatus: string; ApplicationStatus: string; StatusSource: string }>`
        SELECT "Status", "MinorStatus", "ApplicationStatus", "StatusSource" FROM "LoggingInfo" WHERE "JobID" = ${id} ORDER BY "SeqNum" DESC LIMIT 1`.execute(jobDB.db);
      assert.deepEqual(raw.rows[0], { Status: "Rescheduled", MinorStatus: "idem", ApplicationStatus: "idem", StatusSource: "Unknown" });
      // Refused: Killed cannot go to Received, and the additional attributes are not applied.
      const k = await newJob("Killed");
      await setJobStatuses({ [k]: [{ time: T(5), status: "Received" }] }, deps, { additionalAttributes: { [k]: { RescheduleCounter: 7 } } });
      assert.equal((await job(k)).Status, "Killed");
      assert.equal((await job(k)).RescheduleCounter, 0);
    });

    test("killing jobs removes them from task queues (deleting emptied queues), recalculates shares, sends Kill", async () => {
      const a = await newJob("Waiting");
      const b = await newJob("Waiting");
      const c = await newJob("Waiting");
      const def = { Owner: "alice", OwnerGroup: "lhcb_user", VO: "lhcb", CPUTime: 3600 };
      const tq1 = await tqDB.insertJob(a, 1, { ...def, Sites: ["LCG.CERN.ch"] });
      await tqDB.insertJob(b, 1, { ...def, Sites: ["LCG.CERN.ch"] });
      const tq2 = await tqDB.insertJob(c, 3, { ...def, CPUTime: 7200 });
      await setJobStatuses({ [a]: [{ time: T(5), status: "Killed", source: "User" }], [b]: [{ time: T(5), status: "Deleted", source: "User" }] }, deps);
      const tqs = await tqDB.retrieveTaskQueues();
      assert.equal(tqs[tq1], undefined, "the emptied queue is deleted");
      // The remaining queue of the only owner now holds the owner's whole share.
      assert.equal(tqs[tq2]?.Priority, 1000);
      const cmds = await jobDB.getJobCommands([a, b, c]);
      assert.deepEqual(cmds.map((x) => [x.jobId, x.command]).sort(), [[a, "Kill"], [b, "Kill"]].sort());
    });

    test("reports jobs that do not exist and refuses naive times and unknown statuses", async () => {
      const id = await newJob();
      const res = await setJobStatuses({ [id]: [{ time: T(5), status: "Checking" }], 999999: [{ time: T(5), status: "Checking" }] }, deps);
      assert.deepEqual(res.failed, { 999999: { detail: "Not found" } });
      assert.equal(res.success[id]?.Status, "Checking");
      await assert.rejects(setJobStatuses({ [id]: [{ time: "2025-01-01T12:00:00", status: "Waiting" }] }, deps), InvalidStatusUpdateError);
      await assert.rejects(setJobStatuses({ [id]: [{ time: T(6), status: "Sleeping" }] }, deps), /unknown status 'Sleeping'/);
    });

    test("updates many jobs in one call", async () => {
      const ids: number[] = [];
      for (let i = 0; i < 30; i++) ids.push(await newJob("Running"));
      const res = await setJobStatuses(Object.fromEntries(ids.map((id) => [id, [{ time: T(30), status: "Done", source: "JobWrapper" }]])), deps);
      assert.equal(Object.keys(res.success).length, 30);
      const done = await jobDB.search({ search: [{ parameter: "JobID", operator: "in", values: ids }, { parameter: "Status", operator: "eq", value: "Done" }] });
      assert.equal(done.total, 30);
    });

    test("heartbeats resume Matched/Stalled jobs, store figures and parameters, return pending commands", async () => {
      const m = await newJob("Matched");
      const r = await newJob("Running");
      await jobDB.setJobCommands([{ jobId: r, command: "Kill" }]);
      const cmds = await addHeartbeat({ [m]: { LoadAverage: 1.5, StandardOutput: "hi" }, [r]: { MemoryUsed: 100 } }, deps, { now: T(42) });
      assert.deepEqual(cmds.map((c) => [c.jobId, c.command]), [[r, "Kill"]]);
      const jm = await job(m);
      assert.equal(jm.Status, "Running");
      assert.deepEqual(jm.HeartBeatTime, T(42));
      assert.deepEqual((await job(r)).HeartBeatTime, T(42));
      assert.deepEqual((await jobDB.getHeartbeatData(m)).map((h) => [h.name, h.value]), [["LoadAverage", "1.5"]]);
      const p = await paramsDB.search(["StandardOutput", "Status"], [{ parameter: "JobID", operator: "eq", value: m }], []);
      assert.deepEqual(p.results, [{ StandardOutput: "hi", Status: "Running" }]);
      await assert.rejects(addHeartbeat({ 987654: { LoadAverage: 1 } }, deps), /unknown job\(s\): 987654/);
    });

    test("removeJobsFromTaskQueue reads the queues before deleting (JobSharing groups share one pool)", async () => {
      const def = { Owner: "bob", OwnerGroup: "lhcb_prod", VO: "lhcb", CPUTime: 100 };
      const j1 = await newJob("Waiting");
      const j2 = await newJob("Waiting");
      const q1 = await tqDB.insertJob(j1, 1, def);
      const q2 = await tqDB.insertJob(j2, 1, { ...def, Owner: "carol" });
      const out = await removeJobsFromTaskQueue([j1], config, tqDB);
      assert.deepEqual(out.deletedTaskQueues, [q1]);
      assert.equal((await tqDB.retrieveTaskQueues([q2]))[q2]?.Priority, 500);
    });
  });
}
