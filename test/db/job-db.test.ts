import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sql } from "kysely";
import { closeAllEngines, getEngine } from "../../src/db/sql/engine.ts";
import { InvalidQueryError } from "../../src/db/errors.ts";
import { JobDB, compressJdl } from "../../src/db/sql/job-db.ts";
import { JobLoggingDB } from "../../src/db/sql/job-logging-db.ts";
import { TaskQueueDB } from "../../src/db/sql/task-queue-db.ts";
import { backends } from "./backends.ts";

after(() => closeAllEngines());

for (const backend of backends) {
  describe(`JobDB, JobLoggingDB, TaskQueueDB on ${backend.name}`, () => {
    let url: string;
    let jobDB: JobDB;
    let logDB: JobLoggingDB;
    let tqDB: TaskQueueDB;

    before(async () => {
      url = await backend.url();
      for (const C of [JobDB, JobLoggingDB, TaskQueueDB]) await C.migrate(url);
      const engine = getEngine(url);
      jobDB = new JobDB(engine);
      logDB = new JobLoggingDB(engine);
      tqDB = new TaskQueueDB(engine);
    });

    async function newJob(attrs: Parameters<JobDB["insertJobAttributes"]>[0][number] = {}): Promise<number> {
      const id = await jobDB.createJob(compressJdl("[Executable = \"echo\";]"));
      await jobDB.insertJobAttributes({ [id]: { Owner: "alice", OwnerGroup: "lhcb_user", VO: "lhcb", ...attrs } });
      return id;
    }

    test("migrations are idempotent and record each step once", async () => {
      const again = await JobDB.migrate(url);
      assert.deepEqual(again.applied, []);
      const rows = await sql<{ n: number }>`SELECT count(*)::int AS n FROM diracx_migrations WHERE db_name = 'JobDB'`.execute(getEngine(url));
      assert.equal(rows.rows[0]?.n, 1);
    });

    test("creates every JobDB table", async () => {
      const res = await sql<{ t: string }>`SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`.execute(getEngine(url));
      const names = res.rows.map((r) => r.t);
      for (const t of ["Jobs", "JobJDLs", "InputData", "JobParameters", "OptimizerParameters", "AtticJobParameters", "HeartBeatLoggingInfo", "JobCommands", "LoggingInfo", "tq_TaskQueues", "tq_Jobs", "tq_TQToSites", "tq_TQToGridCEs", "tq_TQToBannedSites", "tq_TQToPlatforms", "tq_TQToJobTypes", "tq_TQToTags"]) {
        assert.ok(names.includes(t), `${t} missing from ${names.join(",")}`);
      }
    });

    test("createJob allocates increasing ids and JDLs round-trip", async () => {
      const a = await newJob();
      const b = await newJob();
      assert.ok(b > a);
      await jobDB.updateJobJdls({ [a]: compressJdl("[A = 1;]"), [b]: compressJdl("[B = 2;]") });
      assert.deepEqual(await jobDB.getJobJdls([a, b]), { [a]: "[A = 1;]", [b]: "[B = 2;]" });
      assert.deepEqual(await jobDB.getJobJdls([a], { original: true }), { [a]: "[Executable = \"echo\";]" });
    });

    test("setJobAttributes updates many jobs with different columns in one statement", async () => {
      const a = await newJob();
      const b = await newJob();
      const before = new Date();
      const n = await jobDB.setJobAttributes({ [a]: { Status: "Waiting", MinorStatus: "Pilot Agent Submission" }, [b]: { Site: "LCG.CERN.ch", UserPriority: 3 } });
      assert.equal(n, 2);
      const { rows } = await jobDB.search({ parameters: ["JobID", "Status", "MinorStatus", "Site", "UserPriority", "LastUpdateTime"], search: [{ parameter: "JobID", operator: "in", values: [a, b] }], sorts: [{ parameter: "JobID", direction: "asc" }] });
      assert.equal(rows[0]?.Status, "Waiting");
      assert.equal(rows[0]?.MinorStatus, "Pilot Agent Submission");
      assert.ok(rows[0]?.LastUpdateTime instanceof Date && rows[0].LastUpdateTime.getTime() >= before.getTime() - 1000);
      assert.equal(rows[1]?.Status, "Received");
      assert.equal(rows[1]?.Site, "LCG.CERN.ch");
      assert.equal(rows[1]?.UserPriority, 3);
      assert.equal(rows[1]?.LastUpdateTime, null);
      await assert.rejects(jobDB.setJobAttributes({}), InvalidQueryError);
      await assert.rejects(jobDB.setJobAttributes({ [a]: { Bogus: 1 } as never }), /unknown Jobs column 'Bogus'/);
    });

    test("search filters, sorts, pages and counts; summary groups", async () => {
      const ids = [await newJob({ JobGroup: "grpS" }), await newJob({ JobGroup: "grpS", Status: "Done" }), await newJob({ JobGroup: "grpS", Status: "Done" })];
      const res = await jobDB.search({
        parameters: ["JobID", "Status"],
        search: [{ parameter: "JobGroup", operator: "eq", value: "grpS" }],
        sorts: [{ parameter: "JobID", direction: "desc" }],
        perPage: 2,
        page: 1,
      });
      assert.equal(res.total, 3);
      assert.deepEqual(res.rows.map((r) => r.JobID), [ids[2], ids[1]]);
      const p2 = await jobDB.search({ parameters: ["JobID"], search: [{ parameter: "JobGroup", operator: "eq", value: "grpS" }], sorts: [{ parameter: "JobID", direction: "desc" }], perPage: 2, page: 2 });
      assert.deepEqual(p2.rows.map((r) => r.JobID), [ids[0]]);
      const like = await jobDB.search({ parameters: ["JobID"], search: [{ parameter: "JobGroup", operator: "like", value: "grp%" }, { parameter: "Status", operator: "neq", value: "Done" }] });
      assert.deepEqual(like.rows.map((r) => r.JobID), [ids[0]]);
      const summary = await jobDB.summary(["Status"], [{ parameter: "JobGroup", operator: "eq", value: "grpS" }]);
      assert.deepEqual(summary, [{ Status: "Done", count: 2 }, { Status: "Received", count: 1 }]);
      await assert.rejects(jobDB.search({ search: [{ parameter: "Nope", operator: "eq", value: 1 }] }), /unknown column 'Nope' for Jobs/);
      await assert.rejects(jobDB.search({ page: 0 }), /page must be/);
    });

    test("partial dates in a search select the whole period", async () => {
      const id = await newJob({ JobGroup: "grpD", SubmissionTime: new Date("2024-03-15T10:20:30Z") });
      const hit = async (value: string, operator: "eq" | "gt" | "lt") =>
        (await jobDB.search({ parameters: ["JobID"], search: [{ parameter: "JobGroup", operator: "eq", value: "grpD" }, { parameter: "SubmissionTime", operator, value }] })).rows.map((r) => r.JobID);
      assert.deepEqual(await hit("2024-03", "eq"), [id]);
      assert.deepEqual(await hit("2024-03-15 10", "eq"), [id]);
      assert.deepEqual(await hit("2024-03-16", "eq"), []);
      assert.deepEqual(await hit("2024-03-14", "gt"), [id]);
      assert.deepEqual(await hit("2024-03-15", "gt"), []);
      assert.deepEqual(await hit("2024-04", "lt"), [id]);
    });

    test("deleteJobs cascades to every table", async () => {
      const id = await newJob();
      await jobDB.insertInputData({ [id]: ["/lhcb/a", "/lhcb/b"] });
      await jobDB.setJobParameters({ [id]: { CPU: "1" } });
      await jobDB.setJobCommands([{ jobId: id, command: "Kill" }]);
      await jobDB.addHeartbeatData({ [id]: { LoadAverage: 1.5 } });
      assert.deepEqual(await jobDB.getInputData([id]), { [id]: ["/lhcb/a", "/lhcb/b"] });
      assert.equal(await jobDB.deleteJobs([id]), 1);
      assert.deepEqual(await jobDB.getInputData([id]), {});
      assert.deepEqual(await jobDB.getJobParameters([id]), {});
      assert.deepEqual(await jobDB.getJobCommands([id]), []);
      assert.deepEqual(await jobDB.getHeartbeatData(id), []);
    });

    test("job commands are handed out once, then marked Sent", async () => {
      const id = await newJob();
      await jobDB.setJobCommands([{ jobId: id, command: "Kill" }]);
      assert.deepEqual(await jobDB.getJobCommands([id]), [{ jobId: id, command: "Kill", arguments: "" }]);
      assert.deepEqual(await jobDB.getJobCommands([id]), []);
    });

    test("heartbeat data accepts only heartbeat fields", async () => {
      const id = await newJob();
      await jobDB.addHeartbeatData({ [id]: { MemoryUsed: 1024, CPUConsumed: "12.5" } }, new Date("2024-01-01T00:00:00Z"));
      const data = await jobDB.getHeartbeatData(id);
      assert.deepEqual(data.map((d) => [d.name, d.value]), [["CPUConsumed", "12.5"], ["MemoryUsed", "1024"]]);
      await assert.rejects(jobDB.addHeartbeatData({ [id]: { StandardOutput: "x" } as never }), /heartbeat field 'StandardOutput'/);
    });

    test("logging records get per-job SeqNums and 'idem' resolves to the previous value", async () => {
      const t = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s));
      await logDB.insertRecords([
        { jobId: 9001, status: "Received", minorStatus: "Job accepted", applicationStatus: "idem", date: t(0), source: "JobManager" },
        { jobId: 9002, status: "Received", minorStatus: "Job accepted", applicationStatus: "Unknown", date: t(0), source: "JobManager" },
        { jobId: 9001, status: "Waiting", minorStatus: "idem", applicationStatus: "idem", date: t(5), source: "Optimizer" },
      ]);
      await logDB.insertRecords([{ jobId: 9001, status: "idem", minorStatus: "Matched", applicationStatus: "app", date: t(9), source: "Matcher" }]);
      const seq = await sql<{ JobID: number; SeqNum: number }>`SELECT "JobID", "SeqNum" FROM "LoggingInfo" WHERE "JobID" IN (9001, 9002) ORDER BY 1, 2`.execute(getEngine(url));
      assert.deepEqual(seq.rows.map((r) => [r.JobID, r.SeqNum]), [[9001, 1], [9001, 2], [9001, 3], [9002, 1]]);
      const recs = await logDB.getRecords([9001]);
      assert.deepEqual(recs[9001]?.map((r) => [r.Status, r.MinorStatus, r.ApplicationStatus, r.Source]), [
        ["Received", "Job accepted", "Unknown", "JobManager"],
        ["Waiting", "Job accepted", "Unknown", "Optimizer"],
        ["Waiting", "Matched", "app", "Matcher"],
      ]);
      const ts = await logDB.getWmsTimeStamps([9001, 9003]);
      assert.deepEqual(Object.keys(ts[9001] ?? {}).sort(), ["Received", "Waiting", "idem"]);
      assert.equal(ts[9001]?.Waiting, t(5).getTime() / 1000 - 1270000000);
      assert.deepEqual(ts[9003], {});
      assert.equal(await logDB.deleteRecords([9001, 9002]), 4);
      assert.deepEqual(await logDB.getRecords([9001]), {});
    });

    test("concurrent insertRecords for one job never collide on SeqNum", async () => {
      const rec = (i: number) => ({ jobId: 9100, status: `S${i}`, minorStatus: "", applicationStatus: "", date: new Date(), source: "t" });
      await Promise.all(Array.from({ length: 6 }, (_, i) => logDB.transaction((tx) => tx.insertRecords([rec(i), rec(i + 100)]))));
      const seq = await sql<{ SeqNum: number }>`SELECT "SeqNum" FROM "LoggingInfo" WHERE "JobID" = 9100 ORDER BY 1`.execute(getEngine(url));
      assert.deepEqual(seq.rows.map((r) => r.SeqNum), Array.from({ length: 12 }, (_, i) => i + 1));
    });

    test("task queues: jobs with equal requirements share a queue; retrieve, priorities, removal", async () => {
      const def = { Owner: "alice", OwnerGroup: "g1", VO: "lhcb", CPUTime: 86400, Platforms: ["x86_64-el9", "x86_64-el8"] };
      const placed = await tqDB.insertJobs([
        { jobId: 1, priority: 1, definition: def },
        { jobId: 2, priority: 3, definition: { ...def, Platforms: ["x86_64-el8", "x86_64-el9"] } },
        { jobId: 3, priority: 1, definition: { ...def, Sites: ["LCG.CERN.ch"] } },
        { jobId: 4, priority: 1, definition: { ...def, Owner: "bob" } },
      ]);
      assert.equal(placed[1], placed[2]);
      assert.notEqual(placed[1], placed[3]);
      const tqA = placed[1]!;
      const tqB = placed[3]!;
      assert.equal(await tqDB.insertJob(5, 1, { ...def, Platforms: ["x86_64-el8", "x86_64-el9", "x86_64-el8"] }), tqA);

      const all = await tqDB.retrieveTaskQueues();
      assert.deepEqual(all[tqA], { TQId: tqA, Priority: 1, Owner: "alice", OwnerGroup: "g1", VO: "lhcb", CPUTime: 86400, Enabled: true, Jobs: 3, Sites: [], GridCEs: [], BannedSites: [], Platforms: ["x86_64-el8", "x86_64-el9"], JobTypes: [], Tags: [] });
      assert.deepEqual(all[tqB]?.Sites, ["LCG.CERN.ch"]);

      assert.deepEqual(await tqDB.getTaskQueueOwnersByGroup("g1"), { alice: 2, bob: 1 });
      const prios = await tqDB.getTaskQueuePriorities("g1", "alice");
      assert.deepEqual(Object.keys(prios).map(Number).sort(), [tqA, tqB].sort());
      assert.ok(Math.abs((prios[tqA] ?? 0) - 5 / 3) < 1e-9);
      assert.deepEqual(await tqDB.getTqInfosForJobs([1, 3]), [
        { TQId: tqA, Owner: "alice", OwnerGroup: "g1", VO: "lhcb" },
        { TQId: tqB, Owner: "alice", OwnerGroup: "g1", VO: "lhcb" },
      ].sort((a, b) => a.TQId - b.TQId));

      await tqDB.setTaskQueuePriorities({ [tqA]: 0.25, [tqB]: 4 });
      const after = await tqDB.retrieveTaskQueues([tqA, tqB]);
      assert.equal(after[tqA]?.Priority, 0.25);
      assert.equal(after[tqB]?.Priority, 4);

      assert.equal(await tqDB.isTaskQueueEmpty(tqB), false);
      assert.equal(await tqDB.removeJobs([3]), 1);
      assert.equal(await tqDB.isTaskQueueEmpty(tqB), true);
      assert.deepEqual(await tqDB.deleteEmptyTaskQueues([tqA, tqB]), [tqB]);
      assert.equal((await tqDB.retrieveTaskQueues([tqB]))[tqB], undefined);
      assert.equal(await tqDB.deleteTaskQueue(tqA), true);
      assert.deepEqual(await tqDB.getTqInfosForJobs([1, 2, 5]), []);
    });
  });
}
