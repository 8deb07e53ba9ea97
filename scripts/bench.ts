// Benchmark runner: `npm run bench` runs every bench/<name>.ts in turn,
// `npm run bench -- <name> [...]` only those. Each benchmark starts the servers
// it needs and prints one JSON line per figure on stdout:
//   {"bench":"<name>.<figure>","value":<number>,"unit":"...","target":"..."}
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const benchDir = path.join(root, "bench");
const available = fs
  .readdirSync(benchDir)
  .filter((f) => f.endsWith(".ts") && !f.startsWith("_"))
  .map((f) => f.slice(0, -3))
  .sort();
const wanted = process.argv.slice(2).filter((a) => !a.startsWith("--"));
for (const name of wanted) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark '${name}' (available: ${available.join(", ")})`);
    process.exit(2);
  }
}
let failed = 0;
for (const name of wanted.length ? wanted : available) {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(benchDir, `${name}.ts`)], {
    cwd: root,
    stdio: "inherit",
    // The sources, as in tests: "diracx-tasks" resolves to src/ in every process a benchmark starts.
    env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --conditions=diracx-source`.trim() },
  });
  if (r.status !== 0) {
    console.error(`benchmark '${name}' failed (exit ${r.status ?? r.signal})`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
