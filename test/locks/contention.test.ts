import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { after, before, test } from "node:test";
import { RedisServer } from "../support/redis.ts";

interface Outcome {
  entries: number;
  refusals: number;
  violations: string[];
  maxInside: number;
}
interface Report {
  name: string;
  mutex: Outcome;
  rw: Outcome;
  conc: Outcome;
}

let server: RedisServer;
before(async () => {
  server = await RedisServer.start();
});
after(async () => {
  await server.stop();
});

function contender(name: string, iterations: number, contenders: number): Promise<Report> {
  const script = path.join(import.meta.dirname, "fixtures", "contender.ts");
  const child = spawn(process.execPath, ["--import", "tsx", script, server.url, name, String(iterations), String(contenders)], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve(JSON.parse(stdout) as Report);
      else reject(new Error(`contender ${name} exited with ${code}: ${stderr}`));
    });
  });
}

test("processes contending for a mutex, a read/write lock and a concurrency limiter never break exclusion", async () => {
  const iterations = 12;
  const names = ["p1", "p2", "p3", "p4"];
  const reports = await Promise.all(names.map((n) => contender(n, iterations, names.length)));
  for (const r of reports) {
    for (const scenario of ["mutex", "rw", "conc"] as const) {
      assert.deepEqual(r[scenario].violations, [], `${r.name} ${scenario}`);
      assert.equal(r[scenario].entries, iterations, `${r.name} got the ${scenario} every time`);
    }
    assert.ok(r.conc.maxInside <= 2);
  }
  for (const scenario of ["mutex", "rw", "conc"] as const) {
    assert.ok(reports.some((r) => r[scenario].refusals > 0), `the ${scenario} was actually contended`);
  }
});
