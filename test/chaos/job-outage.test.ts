// No job left behind: JobDB is unreachable for longer than the optimisation task's retries, so
// every optimisation task fails for good (dead-lettered). Once the database is back, the sweep
// (jobs:SweepUnoptimisedJobsTask, fired by a real scheduler) re-submits the optimisation and every
// submitted job reaches its next state — no operator action. Real PostgreSQL (a private server
// this test stops and starts), real Redis, real worker and scheduler processes.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pg from "pg";
import { RedisProcess, until, WorkerPool } from "../../chaos/_support.ts";
import { SqlJobParametersDB } from "../../src/db/os/sql-job-parameters-db.ts";
import { initDatabases } from "../../src/db/init.ts";
import { closeAllEngines } from "../../src/db/sql/engine.ts";
import { compressJdl, JobDB } from "../../src/db/sql/job-db.ts";
import { JobLoggingDB } from "../../src/db/sql/job-logging-db.ts";
import { queueNameFor } from "../../src/engine/priorities.ts";
import { Producer, TaskRegistry } from "../../src/entries/ops.ts";
import { BULL_PREFIX } from "../../src/redis-keys.ts";
import { loadRegistry, SQL_DBS_GROUP } from "../../src/registry/index.ts";
import { PostgresServer } from "../support/postgres.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const JOBS = 12;
const PER_TASK = 4;

describe("chaos: a JobDB outage longer than the optimiser's retries strands no job", () => {
  let postgres: PostgresServer;
  let broker: RedisProcess;
  let pool: WorkerPool;
  let scheduler: ChildProcess;
  let producer: Producer;
  let queueConnection: Redis;
  let queue: Queue;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  const jobIds: number[] = [];

  const statuses = async (): Promise<Map<number, string>> => {
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ JobID: number; Status: string }>(`SELECT "JobID", "Status" FROM "Jobs" WHERE "JobID" = ANY($1)`, [jobIds]);
      return new Map(rows.map((r) => [r.JobID, r.Status]));
    } finally {
      await client.end();
    }
  };
  const deadLetters = async (): Promise<{ task_id: string; task_name: string }[]> => {
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      return (await client.query<{ task_id: string; task_name: string }>("SELECT task_id, task_name FROM dlq_tasks")).rows;
    } finally {
      await client.end();
    }
  };

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-job-outage-"));
    postgres = await PostgresServer.start();
    broker = await RedisProcess.start();
    const configFile = path.join(tmp, "config.yaml");
    fs.writeFileSync(configFile, "Registry:\n  lhcb:\n    Groups:\n      lhcb_user: { Properties: [NormalUser] }\n");
    // The optimiser gives up after one quick retry (the outage outlasts it); the sweep runs every second.
    const tasksConfig = path.join(tmp, "tasks.yaml");
    fs.writeFileSync(
      tasksConfig,
      [
        "common:",
        '  "jobs:OptimizeJobsTask": { retry: { maxRetries: 1, baseDelaySeconds: 0.2 } }',
        '  "jobs:SweepUnoptimisedJobsTask": { schedule: { interval: 1 } }',
        "",
      ].join("\n"),
    );
    const registry = await loadRegistry({ appRoot: ROOT });
    const dbEnv: Record<string, string> = { DIRACX_DB_URL_JOBPARAMETERSDB: postgres.url };
    for (const ep of registry.active(SQL_DBS_GROUP)) dbEnv[`DIRACX_DB_URL_${ep.name.toUpperCase()}`] = postgres.url;
    await initDatabases(registry, { env: dbEnv });
    await SqlJobParametersDB.migrate(postgres.url);
    const nodeOptions = process.env.NODE_OPTIONS ?? "";
    env = {
      ...process.env,
      ...dbEnv,
      NODE_OPTIONS: nodeOptions.includes("diracx-source") ? nodeOptions : `${nodeOptions} --conditions=diracx-source`.trim(),
      DIRACX_APP_ROOT: ROOT,
      DIRACX_CONFIG_BACKEND_URL: configFile,
      DIRACX_TASKS_CONFIG: tasksConfig,
      DIRACX_TASKS_REDIS_URL: broker.url,
      DIRACX_TASKS_JOB_SWEEP_AGE_SECONDS: "1",
      DIRACX_TASKS_JOB_LOCK_MS: "2000",
      DIRACX_LOG_LEVEL: "warn",
      DIRACX_LOG_FORMAT: "json",
    };
    // Submitted jobs, as the submission router leaves them: committed, Received.
    const jobDB = JobDB.fromEnv(dbEnv);
    const logging = JobLoggingDB.fromEnv(dbEnv);
    const now = new Date();
    for (let i = 0; i < JOBS; i++) {
      const jdl = compressJdl(`[ Executable = "run.sh"; JobName = "outage-${i}"; ]`);
      const id = await jobDB.createJob(jdl);
      await jobDB.updateJobJdls({ [id]: jdl });
      await jobDB.insertJobAttributes({ [id]: { Owner: "alice", OwnerGroup: "lhcb_user", VO: "lhcb", Status: "Received", MinorStatus: "Job accepted", SubmissionTime: now, LastUpdateTime: now } });
      await logging.insertRecords([{ jobId: id, status: "Received", minorStatus: "Job accepted", applicationStatus: "Unknown", date: now, source: "JobManager" }]);
      jobIds.push(id);
    }
    await closeAllEngines();
    producer = new Producer({ connection: broker.url, registry: await TaskRegistry.load(registry) });
    queueConnection = new Redis(broker.url, { maxRetriesPerRequest: null });
    queue = new Queue(queueNameFor("small"), { connection: queueConnection, prefix: BULL_PREFIX });
    pool = new WorkerPool(env, { size: "small", concurrency: 2 });
    pool.spawn();
    pool.spawn();
    await until("two workers online", async () => (await queue.getWorkersCount()) >= 2, 120_000);
  });

  after(async () => {
    if (scheduler && scheduler.exitCode === null) {
      scheduler.kill("SIGTERM");
      await once(scheduler, "exit");
    }
    await pool?.stop();
    await producer?.close();
    await queue?.close();
    queueConnection?.disconnect();
    await broker?.close();
    await postgres?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("every optimisation task fails for good during the outage and is dead-lettered; after it, every job moves on by itself", async () => {
    await postgres.pause();
    const taskIds: string[] = [];
    for (let i = 0; i < JOBS; i += PER_TASK) taskIds.push(await producer.submit("jobs:OptimizeJobsTask", { jobIds: jobIds.slice(i, i + PER_TASK) }));
    // The outage outlasts every retry: each optimisation task has failed for good, and said so.
    await until("every optimisation task failed for good", () => taskIds.every((id) => pool.failures.has(id)), 120_000);
    for (const id of taskIds) assert.equal(pool.failures.get(id)?.reason, "no retry left");
    // The worker logs the final failure before BullMQ has moved the job: wait for the move itself.
    await until("the first optimisation task is failed in BullMQ", async () => (await queue.getJobState(taskIds[0]!)) === "failed", 30_000);
    assert.equal(await queue.getJobState(taskIds[0]!), "failed");

    // The sweep runs while the database is still down (and fails, and runs again a second later).
    scheduler = spawn(process.execPath, [path.join(ROOT, "bin/diracx-tasks.mjs"), "scheduler", "--broker-check-interval", "1"], { cwd: ROOT, env, stdio: ["ignore", "ignore", "inherit"] });
    // A sweep run fails for good too (JobDB is down) — and the next one, a second later, tries again.
    await until("a sweep run during the outage", () => pool.failures.size > taskIds.length, 120_000);

    await postgres.resume();
    // No operator action: the jobs reach their next state (Waiting, queued for a pilot).
    await until(
      "every job out of Received/Checking",
      async () => {
        const st = await statuses();
        return jobIds.every((id) => st.has(id) && !["Received", "Checking"].includes(st.get(id)!));
      },
      180_000,
    );
    const st = await statuses();
    assert.deepEqual(new Set(st.values()), new Set(["Waiting"]));
    // Core's optimisation tasks are dead-letter eligible: each failed one is in TaskDB.
    await until("the optimisation tasks' dead letters in TaskDB", async () => {
      const got = new Set((await deadLetters()).map((d) => d.task_id));
      return taskIds.every((id) => got.has(id));
    }, 60_000);
    const letters = (await deadLetters()).filter((d) => taskIds.includes(d.task_id));
    assert.deepEqual(new Set(letters.map((d) => d.task_name)), new Set(["jobs:OptimizeJobsTask"]));
  });
});
