// Test runner: starts one PostgreSQL server for the whole run, runs every test
// file under node:test (each file in its own process), and ends with the plain
// "N passed, N failed[, N skipped]" line.
//   npm test                     all tests
//   npm test -- test/registry    only files under that path (or matching that substring)
// DIRACX_TEST_CONCURRENCY: files run at once (3); DIRACX_TEST_TIMEOUT_MS: a bound on each test.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PostgresServer } from "../test/support/postgres.ts";

const root = path.resolve(import.meta.dirname, "..");

function findTests(dir: string, out: string[] = []): string[] {
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === "node_modules" || entry.name === "fixtures") continue;
      findTests(p, out);
    } else if (entry.name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const extensionDirs = fs.existsSync(path.join(root, "extensions"))
  ? fs.readdirSync(path.join(root, "extensions")).map((e) => path.join(root, "extensions", e, "test"))
  : [];
let files = [path.join(root, "test"), ...extensionDirs].flatMap((d) => findTests(d)).sort();
if (filters.length) files = files.filter((f) => filters.some((flt) => path.relative(root, f).includes(flt.replace(/^\.\//, ""))));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}

function sourceNodeOptions(): string {
  const current = process.env.NODE_OPTIONS ?? "";
  return current.includes("--conditions=diracx-source") ? current : `${current} --conditions=diracx-source`.trim();
}

const pgServer = await PostgresServer.start();
const summaryFile = path.join(os.tmpdir(), `diracx-test-summary-${process.pid}.json`);
const concurrency = process.env.DIRACX_TEST_CONCURRENCY ?? "3";
// A bound on each test (ms; none by default): a hang becomes a named failure, not a stuck run.
const timeout = process.env.DIRACX_TEST_TIMEOUT_MS;
const child = spawn(
  process.execPath,
  [
    "--import",
    "tsx",
    "--test",
    // Once every file has reported, the runner exits even if a handle of its own (seen on
    // Node 24: a stdio socket of a finished file) would keep it alive and hang CI.
    "--test-force-exit",
    `--test-concurrency=${concurrency}`,
    ...(timeout ? [`--test-timeout=${timeout}`] : []),
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    `--test-reporter=${path.join(root, "test/support/summary-reporter.mjs")}`,
    "--test-reporter-destination=stdout",
    ...files,
  ],
  {
    cwd: root,
    stdio: "inherit",
    // Test files and every process they start run the sources: "diracx-tasks" (imported by
    // extensions and fixtures) resolves to src/, never to a dist/ left by `npm run build`.
    env: { ...process.env, NODE_OPTIONS: sourceNodeOptions(), DIRACX_TEST_PG_URL: pgServer.url, DIRACX_TEST_SUMMARY_FILE: summaryFile, FORCE_COLOR: "0" },
  },
);
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => child.kill(sig));
const code: number = await new Promise((resolve) => child.on("exit", (c, s) => resolve(c ?? (s ? 1 : 0))));
await pgServer.stop();

let counts = { passed: 0, failed: 0, skipped: 0 };
try {
  counts = JSON.parse(fs.readFileSync(summaryFile, "utf8"));
  fs.rmSync(summaryFile);
} catch {
  counts.failed = Math.max(counts.failed, 1);
}
if (code !== 0 && counts.failed === 0) counts.failed = 1;
console.log(`${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ""}`);
process.exit(code);
