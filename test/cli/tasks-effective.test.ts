// `diracx-tasks tasks` shows what will run: the effective schedule per VO and what the configuration disabled.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";

const root = path.resolve(import.meta.dirname, "../..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tasks-effective-"));
const config = path.join(dir, "config.yaml");
fs.writeFileSync(
  config,
  [
    "Registry:",
    "  lhcb: {}",
    "  gubbins: {}",
    "Tasks:",
    "  common:",
    '    "lollygag:OwnerCleanupTask": { enabled: false }',
    "  vo-overrides:",
    "    gubbins:",
    '      "my_pilots:MySubmitPilotsTask": { schedule: { interval: 300 } }',
    "    lhcb:",
    '      "my_pilots:MySubmitPilotsTask": { enabled: false }',
    "",
  ].join("\n"),
);

describe("diracx-tasks tasks", () => {
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("shows code ← common ← VO override per VO, and disabled", async () => {
    const { DIRACX_TASKS_CONFIG: _t, ...base } = process.env;
    const env = { ...base, DIRACX_APP_ROOT: path.join(root, "extensions/gubbins"), DIRACX_CONFIG_BACKEND_URL: config, DIRACX_TASKS_REDIS_URL: "redis://127.0.0.1:1" };
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), "tasks", "--json"], { cwd: root, env }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
    );
    assert.equal(out.code, 0, out.stderr);
    const rows = JSON.parse(out.stdout) as { id: string; schedule: string | null; effective: { vo: string | null; enabled: boolean; schedules: string[] }[] }[];
    const submit = rows.find((r) => r.id === "my_pilots:MySubmitPilotsTask");
    assert.ok(submit, out.stdout);
    const byVo = Object.fromEntries(submit.effective.map((e) => [e.vo, e]));
    assert.equal(byVo.lhcb?.enabled, false);
    assert.deepEqual(byVo.lhcb?.schedules, []);
    assert.equal(byVo.gubbins?.enabled, true);
    assert.notDeepEqual(byVo.gubbins?.schedules, [submit.schedule], "the VO override replaced the code's schedule");
    assert.match(byVo.gubbins?.schedules[0] ?? "", /300/);
    const cleanup = rows.find((r) => r.id === "lollygag:OwnerCleanupTask");
    assert.ok(cleanup?.effective.every((e) => !e.enabled), "disabled in common: for every VO");
  });

  it("the table says the same: per VO where VOs differ, 'disabled' where the configuration turned a task off", async () => {
    const { DIRACX_TASKS_CONFIG: _t, ...base } = process.env;
    const env = { ...base, DIRACX_APP_ROOT: path.join(root, "extensions/gubbins"), DIRACX_CONFIG_BACKEND_URL: config, DIRACX_TASKS_REDIS_URL: "redis://127.0.0.1:1" };
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), "tasks"], { cwd: root, env }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
    );
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^TASK\s+PRIORITY\s+SIZE\s+SCHEDULE \(EFFECTIVE\)$/m);
    assert.match(out.stdout, /^my_pilots:MySubmitPilotsTask\s+normal\s+medium\s+lhcb: disabled; gubbins: every:300s$/m);
    assert.match(out.stdout, /^lollygag:OwnerCleanupTask\s+normal\s+medium\s+disabled$/m);
  });
});
