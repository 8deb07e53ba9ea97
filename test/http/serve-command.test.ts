import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { describe, test } from "node:test";
import { CORE_ROOT } from "./support.ts";

const bin = path.join(CORE_ROOT, "bin", "diracx-tasks.mjs");

async function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("DIRACX_") && k !== "NODE_TEST_CONTEXT") clean[k] = v;
  const proc = spawn(process.execPath, [bin, "serve", ...args], { cwd: CORE_ROOT, env: { ...clean, DIRACX_LOG_FORMAT: "json", ...env }, stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
  let stderr = "";
  proc.stderr!.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
  const [code] = (await once(proc, "exit")) as [number | null];
  return { code, stderr };
}

describe("diracx-tasks serve", () => {
  test("a bad port and a router without its DB URL are one clear line and a non-zero exit", async () => {
    const port = await run(["--port", "http"], {});
    assert.notEqual(port.code, 0);
    assert.match(port.stderr, /expected a port number \(0-65535\), got 'http'/);
    const noDb = await run(["--port", "0"], { DIRACX_TASKS_REDIS_URL: "redis://127.0.0.1:1" });
    assert.equal(noDb.code, 1);
    assert.match(noDb.stderr, /diracx-tasks: router 'jobs' cannot be enabled: it requires DIRACX_DB_URL_JOBDB \(for JobDB\).*or set DIRACX_SERVICE_JOBS_ENABLED=false/);
  });
});
