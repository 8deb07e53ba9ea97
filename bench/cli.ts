// CLI start-up: wall time of the compiled `diracx-tasks --help` and `tasks` under plain node
// (what an image runs), median of 5 fresh processes each. Builds dist/ first if missing.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { emitter, median } from "./_support.ts";

const root = path.resolve(import.meta.dirname, "..");
const emit = emitter("cli", 0);
if (!fs.existsSync(path.join(root, "dist/src/cli/main.js"))) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/build.ts", "."], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error("bench/cli: npm run build failed");
}
// Plain node, no tsx and no source condition: the installed package's way.
const env = { ...process.env, DIRACX_TASKS_COMPILED: "1", NODE_OPTIONS: "" };
for (const args of [["--help"], ["tasks"]]) {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [path.join(root, "bin/diracx-tasks.mjs"), ...args], { cwd: root, env, stdio: ["ignore", "ignore", "pipe"] });
    if (r.status !== 0) throw new Error(`bench/cli: diracx-tasks ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
    times.push(performance.now() - t0);
  }
  emit(args[0] === "--help" ? "help_ms" : "tasks_ms", median(times), "ms", "< 1000 ms");
}
