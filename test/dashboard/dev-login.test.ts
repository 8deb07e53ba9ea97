// `diracx-tasks dev` prints a dashboard login link for its demo operator, and following it in
// Chromium logs in: the real command (own redis-server and PGlite), the link as printed.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { after, test } from "node:test";
import type { Browser } from "playwright-core";
import { CORE_ROOT } from "../http/support.ts";
import { launchChromium, sameOriginContext, skipWithoutChromium } from "./support.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-dash-dev-"));
let dev: ChildProcess | undefined;
let browser: Browser | undefined;
after(async () => {
  await browser?.close();
  if (dev && dev.exitCode === null && dev.signalCode === null) {
    const exited = once(dev, "exit");
    dev.kill("SIGTERM");
    await exited;
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

// A bound, so a dev that never prints the link fails the test instead of hanging it (the loaded CI machine took 4 min).
test("dev prints a login link that logs the demo operator into the dashboard", { skip: skipWithoutChromium, timeout: 480_000 }, async () => {
  // A new user's environment: no Redis, database or configuration of the test runner.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("DIRACX_") && k !== "NODE_TEST_CONTEXT") env[k] = v;
  dev = spawn(process.execPath, [path.join(CORE_ROOT, "bin/diracx-tasks.mjs"), "dev", "--port", "0", "--jobs", "0", "--fresh", "--data-dir", tmp], { cwd: CORE_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  dev.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const lines: string[] = [];
  const link = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: dev!.stdout! }).on("line", (l) => {
      lines.push(l);
      const m = /^dev: dashboard for demo operator bob \(lhcb_admin\): (http:\/\/\S+\/dashboard\/login#token=\S+)$/.exec(l);
      if (m) resolve(m[1]!);
    });
    dev!.once("exit", (code) => reject(new Error(`dev exited (${code}) before printing a login link:\n${lines.join("\n")}\n${stderr}`)));
  });
  const token = decodeURIComponent(link.slice(link.indexOf("#token=") + "#token=".length));
  assert.equal(lines.filter((l) => l.includes(token)).length, 1, "the operator's token is printed once, in the link");

  browser = await launchChromium();
  const foreign: string[] = [];
  const ctx = await sameOriginContext(browser, new URL(link).origin, foreign);
  const page = await ctx.newPage();
  await page.goto(link);
  await page.waitForURL(/\/dashboard\/$/);
  assert.equal(await page.locator("h1").textContent(), "Overview");
  assert.match((await page.locator(".who").textContent()) ?? "", /^bob \(lhcb_admin, all VOs\)$/);
  assert.equal(new URL(page.url()).hash, "");
  assert.deepEqual(foreign, []);
  await ctx.close();
});
