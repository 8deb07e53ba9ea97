import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { describe, test } from "node:test";
import pg from "pg";
import { createTestDatabase } from "../support/postgres.ts";

const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(REPO_ROOT, "bin/diracx-tasks.mjs");
const CORE_DBS = ["JobDB", "JobLoggingDB", "TaskQueueDB", "PilotAgentsDB", "SandboxMetadataDB", "TaskDB"];
const GUBBINS_DBS = ["LollygagDB", "MyPilotDB"];

function dbInit(cwd: string, url: string, names: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DIRACX_LOG_LEVEL: "error" };
  delete env.DIRACX_APP_ROOT;
  delete env.NODE_TEST_CONTEXT;
  for (const n of names) env[`DIRACX_DB_URL_${n.toUpperCase()}`] = url;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, "db", "init"], { cwd, env }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
  });
}

async function tables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
    return r.rows.map((x) => x.t);
  } finally {
    await client.end();
  }
}

describe("diracx-tasks db init", () => {
  test("from the repository root: creates the core tables, then changes nothing", async () => {
    const url = await createTestDatabase("init");
    const first = await dbInit(REPO_ROOT, url, CORE_DBS);
    assert.equal(first.code, 0, first.stderr);
    for (const n of CORE_DBS) assert.match(first.stdout, new RegExp(`^${n}: applied ${n === "TaskDB" ? "3 migrations" : "1 migration"}`, "m"));
    const created = await tables(url);
    for (const t of ["Jobs", "JobJDLs", "LoggingInfo", "tq_TaskQueues", "PilotAgents", "sb_SandBoxes", "dlq_tasks", "operator_actions", "diracx_migrations"]) assert.ok(created.includes(t), t);
    assert.ok(!created.includes("GubbinsInfo"));
    const second = await dbInit(REPO_ROOT, url, CORE_DBS);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(second.stdout.trim().split("\n"), CORE_DBS.map((n) => `${n}: up to date`));
    assert.deepEqual(await tables(url), created);
  });

  test("with a job parameters URL: also creates the SQL-backed job parameters store, and a second run is harmless", async () => {
    const url = await createTestDatabase("initjp");
    for (let run = 0; run < 2; run++) {
      const res = await dbInit(REPO_ROOT, url, [...CORE_DBS, "JobParametersDB"]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /^JobParametersDB \(SQL-backed\): index template ready$/m);
    }
    assert.ok((await tables(url)).includes("JobParametersDocuments"));
  });

  test("from extensions/gubbins: adds the gubbins tables and migrations", async () => {
    const url = await createTestDatabase("initg");
    const cwd = path.join(REPO_ROOT, "extensions/gubbins");
    const first = await dbInit(cwd, url, [...CORE_DBS, ...GUBBINS_DBS]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^JobDB \(GubbinsJobDB\): applied 2 migrations/m);
    assert.match(first.stdout, /^LollygagDB: applied 1 migration/m);
    assert.match(first.stdout, /^MyPilotDB: applied 2 migrations/m);
    const created = await tables(url);
    for (const t of ["Jobs", "GubbinsInfo", "Owners", "Cars", "MyComputeElements", "MyPilotSubmissions", "dlq_tasks"]) assert.ok(created.includes(t), t);
    const second = await dbInit(cwd, url, [...CORE_DBS, ...GUBBINS_DBS]);
    assert.equal(second.code, 0, second.stderr);
    assert.ok(second.stdout.trim().split("\n").every((l) => l.endsWith(": up to date")), second.stdout);
  });

  test("a missing URL is one clear line naming the variable, and nothing is created", async () => {
    const url = await createTestDatabase("initm");
    const run = await dbInit(REPO_ROOT, url, CORE_DBS.filter((n) => n !== "TaskDB"));
    assert.equal(run.code, 1);
    assert.equal(run.stderr.trim(), "diracx-tasks: no database URL for DIRACX_DB_URL_TASKDB");
    assert.deepEqual(await tables(url), []);
  });
});
