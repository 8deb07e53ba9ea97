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

// Every DIRACX_* variable is read through a settings class (defineSettings: TasksSettings,
// LogSettings, ConfigBackendSettings, a task's own…): a bad value stops the command with one
// line naming the variable, whichever part of the system reads it.
describe("a bad settings value stops the command with one line naming it", () => {
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
  // The rest of the settings classes: read by the command runner (CliContext) before any
  // command module loads, or at the command's wiring (a task's own settings class, health,
  // tracing) before it takes work. Never at the first use, never silently replaced by a default.
  cases.push(
    [["entrypoints"], "DIRACX_LOG_LEVEL", "loud", /invalid settings \(LogSettings\): DIRACX_LOG_LEVEL: unknown level 'loud' \(known: trace, debug, info, warn, error, fatal, silent\)/],
    [["status"], "DIRACX_LOG_FORMAT", "xml", /DIRACX_LOG_FORMAT: unknown format 'xml' \(known: json, pretty\)/],
    [["worker", "--size", "small"], "DIRACX_LOG_SYNC", "maybe", /DIRACX_LOG_SYNC: expected a boolean .*, got "maybe"/],
    [["locks", "list"], "DIRACX_TASKS_CONNECT_TIMEOUT_SECONDS", "abc", /DIRACX_TASKS_CONNECT_TIMEOUT_SECONDS: expected a number, got "abc"/],
    [["dlq", "resubmit", "--all"], "DIRACX_TASKS_CONNECT_TIMEOUT_SECONDS", "0", /DIRACX_TASKS_CONNECT_TIMEOUT_SECONDS: Too small/],
    [["dlq", "list"], "DIRACX_TASKS_REDIS_URL", "http://broker:6379", /DIRACX_TASKS_REDIS_URL: expected a redis:\/\//],
    [["config", "check"], "DIRACX_CONFIG_POLL_INTERVAL_SECONDS", "often", /invalid settings \(ConfigBackendSettings\): DIRACX_CONFIG_POLL_INTERVAL_SECONDS: expected a number, got "often"/],
    [["worker", "--size", "small"], "DIRACX_TASKS_JOB_SWEEP_AGE_SECONDS", "abc", /invalid settings \(JobSweepSettings\): DIRACX_TASKS_JOB_SWEEP_AGE_SECONDS: expected a number, got "abc"/],
    [["worker", "--size", "small"], "DIRACX_TASKS_HEALTH_PORT", "99999", /invalid settings \(HealthSettings\): DIRACX_TASKS_HEALTH_PORT: Too big/],
    [["serve"], "DIRACX_OTEL_ENABLED", "perhaps", /invalid settings \(OtelSettings\): DIRACX_OTEL_ENABLED: expected a boolean/],
    // A database URL is a setting too: refused at the worker's wiring, naming the variable, never the value (a password).
    [["worker", "--size", "small"], "DIRACX_DB_URL_JOBDB", "mysql://u:secret@db/jobs", /^diracx-tasks: invalid settings \(JobDB URL\): DIRACX_DB_URL_JOBDB: expected a postgresql:\/\/…, pglite:\/\/memory or pglite:\/\/<directory> URL$/],
    [["dlq", "list"], "DIRACX_DB_URL_TASKDB", "sqlite:///tmp/x?password=secret", /^diracx-tasks: invalid settings \(TaskDB URL\): DIRACX_DB_URL_TASKDB: expected a postgresql:\/\/…/],
  );
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
