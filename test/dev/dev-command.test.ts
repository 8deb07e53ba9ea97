import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(root, "bin", "diracx-tasks.mjs");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-dev-cmd-"));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The environment of a new user: no Redis URL, no database URLs, no configuration. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("DIRACX_") && k !== "NODE_TEST_CONTEXT") env[k] = v;
  return { ...env, DIRACX_LOG_FORMAT: "json" };
}

function runDev(args: string[], extraEnv: NodeJS.ProcessEnv = {}): { proc: ChildProcess; lines: string[]; stderr: () => string; exited: Promise<[number | null, NodeJS.Signals | null]> } {
  // Any free port for the API: tests run side by side.
  const proc = spawn(process.execPath, [bin, "dev", "--port", "0", ...args], { cwd: root, env: { ...cleanEnv(), ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(proc);
  const lines: string[] = [];
  let err = "";
  readline.createInterface({ input: proc.stdout! }).on("line", (l) => lines.push(l));
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString("utf8")));
  const exited = once(proc, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  return { proc, lines, stderr: () => err, exited };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Bounded poll for something another process brings about. */
async function until<T>(what: string, get: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function redisPidOf(lines: readonly string[]): number | undefined {
  for (const l of lines) {
    const m = /redis-server pid (\d+)/.exec(l);
    if (m) return Number(m[1]);
  }
  return undefined;
}

describe("diracx-tasks dev", () => {
  test("--until-done brings the demo jobs to Done on its own redis-server and PGlite, then exits 0 and stops Redis", async () => {
    const dataDir = path.join(tmp, "until-done");
    const run = runDev(["--until-done", "--fresh", "--data-dir", dataDir, "--timeout", "120"]);
    const [code] = await run.exited;
    assert.equal(code, 0, `exit ${code}; stdout:\n${run.lines.join("\n")}\nstderr:\n${run.stderr()}`);
    const done = run.lines.find((l) => /^dev: \d+\/\d+ demo jobs Done in [\d.]+ s$/.test(l));
    assert.ok(done, `no Done line in:\n${run.lines.join("\n")}`);
    assert.match(done, /^dev: 6\/6 /);
    assert.ok(run.lines.some((l) => /^dev: extension \S+ \d+\.\d+\.\d+/.test(l)), "the active extension and its version are printed");
    // The summary showed the jobs per status and the queues of every size.
    assert.ok(run.lines.some((l) => /^jobs: .*Done 6/.test(l)));
    for (const size of ["small", "medium", "large"]) assert.ok(run.lines.some((l) => l.startsWith(size)), `no ${size} queue row`);
    const pid = redisPidOf(run.lines);
    assert.ok(pid !== undefined, "the redis-server child's pid was reported");
    assert.equal(alive(pid), false, "the redis-server child is gone");
    // Everything lives under the data directory.
    for (const d of ["redis", "db", "config"]) assert.ok(fs.existsSync(path.join(dataDir, d)), `${d}/ under the data dir`);
  });

  test("SIGINT stops a running dev stack cleanly: exit 0 and no redis-server left", async () => {
    const run = runDev(["--fresh", "--data-dir", path.join(tmp, "sigint"), "--jobs", "2"]);
    const pid = await until("the redis-server pid", () => redisPidOf(run.lines));
    // The live summary is up: the stack is fully started.
    await until("the summary", () => (run.lines.some((l) => l.startsWith("demo jobs:")) ? true : undefined));
    assert.equal(alive(pid), true);
    run.proc.kill("SIGINT");
    const [code, signal] = await run.exited;
    assert.equal(signal, null);
    assert.equal(code, 0, `exit ${code}; stderr:\n${run.stderr()}`);
    assert.ok(run.lines.some((l) => l === "dev: SIGINT received, stopping"));
    assert.equal(alive(pid), false, "the redis-server child is gone");
  });

  test("--until-done exits non-zero with one line saying how far the jobs got when they are not Done in time", async () => {
    // With the executor switched off nothing moves the jobs, so the time-out is certain to come first.
    const run = runDev(["--until-done", "--fresh", "--data-dir", path.join(tmp, "timeout"), "--timeout", "1", "--jobs", "3"], {
      DIRACX_TASKS_DUMMY_JOB_EXECUTOR_ENABLED: "false",
    });
    const [code] = await run.exited;
    assert.equal(code, 1, `stderr:\n${run.stderr()}`);
    assert.match(run.stderr(), /^dev: timed out after 1 s with 0\/3 demo jobs Done \(Received 3\); the dummy job executor is disabled \(DIRACX_TASKS_DUMMY_JOB_EXECUTOR_ENABLED\)$/m);
    assert.equal(alive(redisPidOf(run.lines)!), false, "the redis-server child is gone");
  });

  test("bad options are one clear line and a non-zero exit", async () => {
    const run = runDev(["--timeout", "soon"]);
    const [code] = await run.exited;
    assert.notEqual(code, 0);
    assert.match(run.stderr(), /--timeout <seconds>.*expected a positive number, got 'soon'/);
  });
});
