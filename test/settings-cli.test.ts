import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { describe, it } from "node:test";

const bin = path.resolve(import.meta.dirname, "../bin/diracx-tasks.mjs");

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  // No broker is reachable at this port: a command that got past its settings would fail differently.
  const child = spawn(process.execPath, [bin, ...args], {
    // A worker refuses to start without the configuration, which it checks before its settings.
    env: { ...process.env, DIRACX_TASKS_REDIS_URL: "redis://127.0.0.1:1", DIRACX_CONFIG_BACKEND_URL: path.join(import.meta.dirname, "fixtures/engine-app/diracx-config.yaml"), ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stderr })));
}

// Every DIRACX_TASKS_* variable is read through the one settings class (TasksSettings): a bad
// value stops the command with one line naming the variable, whichever part of the system reads it.
describe("a bad DIRACX_TASKS_* value stops the command with one line naming it", () => {
  const cases: Array<[string[], string, string, RegExp]> = [
    [["schedules", "list"], "DIRACX_TASKS_REDIS_URL", "http://broker:6379", /DIRACX_TASKS_REDIS_URL: expected a redis:\/\/, rediss:\/\/, redis\+cluster:\/\/ or redis\+sentinel:\/\/ URL/],
    [["worker", "--size", "small"], "DIRACX_TASKS_JOB_LOCK_MS", "soon", /DIRACX_TASKS_JOB_LOCK_MS: expected a number, got "soon"/],
    [["worker", "--size", "small"], "DIRACX_TASKS_DEFERRAL_BASE_MS", "-5", /DIRACX_TASKS_DEFERRAL_BASE_MS: Too small/],
    [["submit", "jobs:OptimizeJobsTask", "--args", "[]"], "DIRACX_TASKS_KEEP_COMPLETED_SECONDS", "-1", /DIRACX_TASKS_KEEP_COMPLETED_SECONDS: Too small/],
    // The scheduler reads them once, before its configuration and broker; so does every worker.
    [["scheduler"], "DIRACX_TASKS_KEEP_FAILED_SECONDS", "a week", /DIRACX_TASKS_KEEP_FAILED_SECONDS: expected a number, got "a week"/],
    [["worker", "--size", "small"], "DIRACX_TASKS_MAX_STALLED_COUNT", "1.5", /DIRACX_TASKS_MAX_STALLED_COUNT: expected int/],
    [["status"], "DIRACX_LOG_LEVEL", "loud", /DIRACX_LOG_LEVEL: unknown level 'loud'/],
  ];
  for (const [args, name, value, expected] of cases) {
    it(`${name}=${value} (${args[0]})`, async () => {
      const r = await cli(args, { [name]: value });
      assert.notEqual(r.code, 0);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `one line, got: ${r.stderr}`);
      assert.match(lines[0]!, expected);
    });
  }
});
