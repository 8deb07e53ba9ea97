// setJobStatuses on 10,000 jobs in one call, on a private PostgreSQL.
import { sql } from "kysely";
import { PostgresServer } from "../test/support/postgres.ts";
import { closeAllEngines, getEngine } from "../src/db/sql/engine.ts";
import { JobDB } from "../src/db/sql/job-db.ts";
import { JobLoggingDB } from "../src/db/sql/job-logging-db.ts";
import { TaskQueueDB } from "../src/db/sql/task-queue-db.ts";
import { SqlJobParametersDB } from "../src/db/os/sql-job-parameters-db.ts";
import { setJobStatuses, type StatusChanges } from "../src/logic/jobs/set-job-statuses.ts";

const JOBS = 10_000;
const TARGET_MS = 5000;

const server = await PostgresServer.start();
try {
  const url = server.url;
  for (const C of [JobDB, JobLoggingDB, TaskQueueDB, SqlJobParametersDB]) await C.migrate(url);
  const engine = getEngine(url);
  const jobDB = new JobDB(engine);
  const logDB = new JobLoggingDB(engine);
  const start = new Date(Date.UTC(2025, 0, 1));
  // Setup in bulk (not measured): JobIDs come from the JobJDLs sequence.
  const ids = (await sql<{ JobID: number }>`INSERT INTO "JobJDLs" ("JDL") SELECT '' FROM generate_series(1, ${JOBS}) RETURNING "JobID"`.execute(engine)).rows.map((r) => r.JobID);
  for (let i = 0; i < ids.length; i += 2000) {
    const chunk = ids.slice(i, i + 2000);
    await jobDB.insertJobAttributes(Object.fromEntries(chunk.map((id) => [id, { Owner: "alice", OwnerGroup: "lhcb_user", VO: "lhcb", Status: "Running" }])));
  }
  await logDB.insertRecords(ids.map((jobId) => ({ jobId, status: "Running", minorStatus: "Application", applicationStatus: "Unknown", date: start, source: "JobWrapper" })));

  const changes: StatusChanges = Object.fromEntries(
    ids.map((id) => [id, [{ time: new Date(start.getTime() + 60_000), status: "Done", minorStatus: "Execution Complete", source: "JobWrapper" }]]),
  );
  const deps = { config: { Registry: {} }, jobDB, jobLoggingDB: logDB, taskQueueDB: new TaskQueueDB(engine), jobParametersDB: new SqlJobParametersDB(engine) };
  // One transaction, as a task's unit of work would use.
  const t0 = performance.now();
  const result = await engine.transaction().execute(async (trx) =>
    setJobStatuses(changes, { ...deps, jobDB: new JobDB(trx), jobLoggingDB: new JobLoggingDB(trx), taskQueueDB: new TaskQueueDB(trx), jobParametersDB: new SqlJobParametersDB(trx) }),
  );
  const ms = performance.now() - t0;
  const done = Object.values(result.success).filter((s) => s.Status === "Done").length;
  if (done !== JOBS) throw new Error(`expected ${JOBS} jobs Done, got ${done}`);
  console.log(JSON.stringify({ bench: "db.set_job_statuses_10k", value: Math.round(ms), unit: "ms", target: `<${TARGET_MS}` }));
} finally {
  await closeAllEngines();
  await server.stop();
}
