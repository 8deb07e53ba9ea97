// The README's example extension (sections "Installing an extension", "Extending the
// configuration", "A JobDB subclass with a migration" and "Submitting a job for
// optimisation"), built from the README's own code blocks, linked into an application root
// and run as an operator would: discovery, db init, config check, a submitted job optimised
// by a real worker, the subclass's methods through a task, the per-VO configuration.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { z } from "zod";
import { defineTask, type ContextOf } from "../../src/index.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { RedisServer } from "../support/redis.ts";
import { waitFor } from "../engine/support.ts";

const root = path.resolve(import.meta.dirname, "../..");
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");

/** Every fenced block naming its file: in the info string (```json dir/file) or on its first line (// dir/file, # dir/file). */
function exampleFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const m of readme.matchAll(/^```(\w+)(?: (\S+))?\n([\s\S]*?)^```$/gm)) {
    const [, , infoPath, body] = m;
    const first = /^(?:\/\/|#) (myvo-(?:diracx|app)\/\S+)\n/.exec(body!);
    const file = infoPath ?? first?.[1];
    if (!file?.startsWith("myvo-")) continue;
    assert.ok(!files.has(file), `README names ${file} twice`);
    files.set(file, body!);
  }
  return files;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "readme-ext-"));
const app = path.join(tmp, "myvo-app");
const ext = path.join(tmp, "myvo-diracx");
const { DIRACX_APP_ROOT: _a, DIRACX_CONFIG_BACKEND_URL: _c, DIRACX_TASKS_CONFIG: _t, DIRACX_LOG_LEVEL: _l, ...baseEnv } = process.env;
let env: NodeJS.ProcessEnv = {};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string[], opts: { cwd?: string } = {}): Promise<Run> {
  const child = spawn(process.execPath, cmd, { cwd: opts.cwd ?? app, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return once(child, "exit").then(([code]) => ({ code: code as number | null, stdout, stderr }));
}
/** `npx diracx-tasks …` from the application root. */
const cli = (...args: string[]): Promise<Run> => run([path.join(app, "node_modules/diracx-tasks/bin/diracx-tasks.mjs"), ...args]);

describe("README example extension, linked into an application root", () => {
  let redis: RedisServer;
  let dbUrl: string;
  let db: pg.Client;

  before(async () => {
    const files = exampleFiles();
    for (const f of ["myvo-app/package.json", "myvo-diracx/package.json", "myvo-diracx/src/config.ts", "myvo-diracx/src/job-db.ts", "myvo-diracx/src/tasks.ts", "myvo-app/diracx-config.yaml", "myvo-app/scripts/submit.ts"]) {
      assert.ok(files.has(f), `README has a code block for ${f}`);
    }
    for (const [file, body] of files) {
      fs.mkdirSync(path.dirname(path.join(tmp, file)), { recursive: true });
      fs.writeFileSync(path.join(tmp, file), body);
    }
    // What `npm install`, `npm link ../myvo-diracx` and the README's `ln -sfn` leave behind.
    fs.mkdirSync(path.join(app, "node_modules"), { recursive: true });
    fs.mkdirSync(path.join(ext, "node_modules"), { recursive: true });
    fs.symlinkSync(root, path.join(app, "node_modules/diracx-tasks"));
    fs.symlinkSync(ext, path.join(app, "node_modules/myvo-diracx"));
    fs.symlinkSync(path.join(app, "node_modules/diracx-tasks"), path.join(ext, "node_modules/diracx-tasks"));

    redis = await RedisServer.start();
    dbUrl = await createTestDatabase("readmeext");
    db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    const dbEnv: Record<string, string> = {};
    for (const name of ["JOBDB", "JOBLOGGINGDB", "TASKQUEUEDB", "PILOTAGENTSDB", "SANDBOXMETADATADB", "TASKDB", "JOBPARAMETERSDB"]) dbEnv[`DIRACX_DB_URL_${name}`] = dbUrl;
    env = { ...baseEnv, ...dbEnv, DIRACX_TASKS_REDIS_URL: redis.url, DIRACX_CONFIG_BACKEND_URL: path.join(app, "diracx-config.yaml"), DIRACX_LOG_FORMAT: "json" };
  });
  after(async () => {
    await db?.end();
    await redis?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("discovers the linked extension: its config schema, JobDB and task are the active entries, all importable", async () => {
    const check = await cli("entrypoints", "--check");
    assert.equal(check.code, 0, check.stderr);
    const listed = await cli("entrypoints", "--json");
    assert.equal(listed.code, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout) as { group: string; name: string; package: string; active: boolean }[];
    const active = (group: string, name: string): string | undefined => rows.find((r) => r.group === group && r.name === name && r.active)?.package;
    assert.equal(active("diracx", "config"), "myvo-diracx");
    assert.equal(active("diracx.dbs.sql", "JobDB"), "myvo-diracx");
    assert.equal(active("diracx.tasks.myvo", "AnnotateJobTask"), "myvo-diracx");
    assert.equal(active("diracx.dbs.sql", "JobLoggingDB"), "diracx-tasks");
    assert.doesNotMatch(check.stderr + listed.stderr, /supportedVersion/, "the README's package declares it");
  });

  it("db init applies core's and the subclass's migrations, then is up to date", async () => {
    const first = await cli("db", "init");
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^JobDB \(MyVOJobDB\): applied 2 migrations/m);
    const second = await cli("db", "init");
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^JobDB \(MyVOJobDB\): up to date/m);
    const { rows } = await db.query<{ scope: string; version: number }>(`SELECT scope, version FROM diracx_migrations WHERE db_name = 'JobDB' ORDER BY scope, version`);
    assert.ok(rows.some((r) => r.scope === "myvo" && r.version === 1), JSON.stringify(rows));
  });

  it("config check validates with the extension's schema: the example passes, a misspelt per-VO key is named", async () => {
    const good = await cli("config", "check", "diracx-config.yaml");
    assert.equal(good.code, 0, good.stderr);
    const bad = path.join(app, "bad-config.yaml");
    fs.writeFileSync(bad, fs.readFileSync(path.join(app, "diracx-config.yaml"), "utf8").replace("lhcb:\n    MyVO: { MaxNotesPerJob: 1 }", "lhcb:\n    MyVO: { MaxNotes: 1 }"));
    const r = await cli("config", "check", bad);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Operations\.lhcb\.MyVO\.MaxNotes: unknown key/);
  });

  it("a job submitted by the README's script is optimised by a worker: Waiting in a task queue", async () => {
    const submitted = await run(["--import", import.meta.resolve("tsx"), "--conditions=diracx-source", "scripts/submit.ts"]);
    assert.equal(submitted.code, 0, submitted.stderr);
    const { jobIds, taskIds } = JSON.parse(submitted.stdout.trim().split("\n").at(-1)!) as { jobIds: number[]; taskIds: string[] };
    assert.equal(jobIds.length, 1);
    assert.equal(taskIds.length, 1);

    const worker = spawn(process.execPath, [path.join(app, "node_modules/diracx-tasks/bin/diracx-tasks.mjs"), "worker", "--size", "small"], { cwd: app, env, stdio: ["ignore", "ignore", "pipe"] });
    let werr = "";
    worker.stderr.on("data", (d: Buffer) => (werr += d.toString()));
    const exited = once(worker, "exit");
    try {
      const job = await waitFor(
        "the job to leave Received/Checking",
        async () => {
          const { rows } = await db.query<{ Status: string; MinorStatus: string }>(`SELECT "Status", "MinorStatus" FROM "Jobs" WHERE "JobID" = $1`, [jobIds[0]]);
          return rows[0] && !["Received", "Checking"].includes(rows[0].Status) ? rows[0] : undefined;
        },
        60_000,
      );
      assert.deepEqual(job, { Status: "Waiting", MinorStatus: "Pilot Agent Submission" }, werr);
      const { rows: tq } = await db.query(`SELECT t."CPUTime" FROM "tq_TaskQueues" t JOIN "tq_Jobs" j USING ("TQId") WHERE j."JobId" = $1`, [jobIds[0]]);
      assert.equal(Number(tq[0]?.CPUTime), 3600, "the JDL's CPUTime");
      const { rows: tags } = await db.query(`SELECT v."Value" FROM "tq_TQToTags" v JOIN "tq_Jobs" j USING ("TQId") WHERE j."JobId" = $1`, [jobIds[0]]);
      assert.deepEqual(tags.map((t) => t.Value), ["GPU"]);
    } finally {
      worker.kill("SIGTERM");
      await exited;
    }
  });

  it("the task uses the subclass's methods and the per-VO setting: Defaults for gridpp, lhcb's own for lhcb", async () => {
    const { rows } = await db.query<{ JobID: number }>(`SELECT "JobID" FROM "Jobs" ORDER BY "JobID" LIMIT 1`);
    const jobId = rows[0]!.JobID;
    const call = (vo: string, note: string): Promise<Run> => cli("call", "myvo:AnnotateJobTask", "--kwargs", JSON.stringify({ vo, jobId, note }));
    const first = await call("lhcb", "checked");
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout.trim().split("\n").at(-1)!), { notes: ["checked"] });
    const refused = await call("lhcb", "again");
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /job \d+ has 1 notes, the most Operations\.lhcb\.MyVO\.MaxNotesPerJob allows/);
    const gridpp = await call("gridpp", "again");
    assert.equal(gridpp.code, 0, gridpp.stderr);
    assert.deepEqual(JSON.parse(gridpp.stdout.trim().split("\n").at(-1)!), { notes: ["checked", "again"] });
  });

  it("a linked extension that reaches no diracx-tasks from its own directory is one line naming it", async () => {
    fs.rmSync(path.join(ext, "node_modules/diracx-tasks"));
    try {
      const r = await cli("entrypoints", "--check");
      assert.equal(r.code, 1);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /myvo-diracx.*cannot resolve diracx-tasks from .*myvo-diracx/);
    } finally {
      fs.symlinkSync(path.join(app, "node_modules/diracx-tasks"), path.join(ext, "node_modules/diracx-tasks"));
    }
  });
});

// The configuration in a task is a dependency: the context has no `config`, and the compiler says so.
export class ReadsConfig extends defineTask({ args: z.object({}) }) {
  async execute(ctx: ContextOf<typeof ReadsConfig>): Promise<unknown> {
    // @ts-expect-error -- no ctx.config: declare `dependencies: { config: Config }` and read ctx.deps.config
    return ctx.config;
  }
}
