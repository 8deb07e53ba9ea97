// PGlite is one process per directory: a second process (here `db init`) is refused with one
// line naming the directory and the holder, instead of `[object Object]` / `Aborted()`.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { sql } from "kysely";
import { closeAllEngines, getEngine } from "../../src/db/sql/engine.ts";

const root = path.resolve(import.meta.dirname, "../..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-pglite-"));
after(async () => {
  await closeAllEngines();
  fs.rmSync(dir, { recursive: true, force: true });
});

function dbInit(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), "db", "init", "--db", "TaskDB"], {
    cwd: root,
    env: { ...process.env, DIRACX_DB_URL_TASKDB: `pglite://${dir}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
}

test("a second process on one PGlite directory is refused with one clear line", async () => {
  const first = await dbInit();
  assert.equal(first.code, 0, first.stderr);
  // This process opens the directory and keeps it open; `db init` in another process is refused.
  const db = getEngine(`pglite://${dir}`);
  await sql`select 1`.execute(db);
  const second = await dbInit();
  assert.equal(second.code, 1);
  const lines = second.stderr.trim().split("\n");
  assert.equal(lines.length, 1, second.stderr);
  assert.equal(lines[0], `diracx-tasks: PGlite database ${dir} is already open in process ${process.pid}: PGlite allows one process per directory (stop that process, point this one at another directory, or use PostgreSQL for several processes)`);
  // Once closed, the directory is free again (and a lock left by a dead process does not block).
  await closeAllEngines();
  const third = await dbInit();
  assert.equal(third.code, 0, third.stderr);
  assert.match(third.stdout, /TaskDB: up to date/);
});
