import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";

const root = path.resolve(import.meta.dirname, "../..");
const appRoot = path.join(root, "test/fixtures/optimizer-ext");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-dev-ext-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("diracx-tasks dev in an application with an extension replacing a core task", () => {
  test("--until-done --fresh brings the demo jobs to Done", async () => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("DIRACX_") && k !== "NODE_TEST_CONTEXT") env[k] = v;
    const proc = spawn(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), "dev", "--until-done", "--fresh", "--data-dir", path.join(tmp, "data"), "--timeout", "120"], {
      cwd: appRoot,
      env: { ...env, DIRACX_LOG_FORMAT: "json" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    proc.stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    proc.stderr.on("data", (d: Buffer) => (err += d.toString("utf8")));
    const [code] = (await once(proc, "exit")) as [number | null];
    assert.equal(code, 0, `exit ${code}; stdout:\n${out}\nstderr:\n${err}`);
    assert.match(out, /^dev: 6\/6 demo jobs Done in [\d.]+ s$/m);
    assert.match(out, /^dev: extension optimizer_ext 0\.0\.0 \(package optimizer-ext\)$/m, "dev names the active extension and its version");
    assert.doesNotMatch(err, /UnknownTaskError|not registered/);
  });
});
