// Cold start of a worker: wall time from spawning a compiled `diracx-tasks worker` under plain
// node (what an image runs) until it logs "worker ready" and until it completed its first task,
// while a backlog waits. Measured idle (the backlog, no other worker) and under load (three
// other workers draining the backlog on the same cores, as in the SIGKILL storm, where a killed
// worker's replacement starts among busy ones). DIRACX_BENCH_STARTS (default 5) starts per phase;
// p50 and max of each; `loaded.source` is the same worker run from the TypeScript sources
// through tsx, as `dev` and the chaos scenarios run it. Builds dist/ first if it is missing or older than the sources.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { RedisServer } from "../test/support/redis.ts";
import { emitter, median } from "./_support.ts";

const root = path.resolve(import.meta.dirname, "..");
const emit = emitter("cold-start", 0);
const STARTS = Number(process.env.DIRACX_BENCH_STARTS ?? 5);
const BACKLOG = 30_000;
const LOAD_WORKERS = 3;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}
const built = path.join(root, "dist/src/cli/main.js");
if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < Math.max(newestMtime(path.join(root, "src")), newestMtime(path.join(root, "tasks")))) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/build.ts", "."], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error("bench/cold-start: npm run build failed");
}

// An application root as an image has it: its package.json names a plain-JS task; diracx-tasks
// (this checkout, run from dist/) and zod are linked into its node_modules.
const app = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-cold-start-"));
fs.writeFileSync(
  path.join(app, "package.json"),
  JSON.stringify({ name: "cold-start-app", version: "0.0.0", private: true, type: "module", dependencies: { "diracx-tasks": "*" }, diracx: { entryPoints: { "diracx.tasks.bench": { Work: "./tasks.js:Work" } } } }),
);
fs.writeFileSync(
  path.join(app, "tasks.js"),
  `import { z } from "zod";
import { defineTask } from "diracx-tasks";
let first = true;
/** Sleeps 50–200 ms. The first one a process completes prints a marker on stdout. */
export class Work extends defineTask({ args: z.object({ n: z.number().int(), ms: z.number().int() }), size: "small" }) {
  async execute() {
    await new Promise((resolve) => setTimeout(resolve, this.args.ms));
    if (first) {
      first = false;
      process.stdout.write("first-task-done\\n");
    }
    return this.args.n;
  }
}
`,
);
fs.writeFileSync(path.join(app, "diracx-config.yaml"), "Registry:\n  lhcb: {}\n");
fs.mkdirSync(path.join(app, "node_modules"));
fs.symlinkSync(root, path.join(app, "node_modules/diracx-tasks"));
fs.symlinkSync(path.join(root, "node_modules/zod"), path.join(app, "node_modules/zod"));

const server = await RedisServer.start();
const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("DIRACX_")));
const env: NodeJS.ProcessEnv = {
  ...baseEnv,
  NODE_OPTIONS: "",
  DIRACX_TASKS_COMPILED: "1",
  DIRACX_APP_ROOT: app,
  DIRACX_CONFIG_BACKEND_URL: path.join(app, "diracx-config.yaml"),
  DIRACX_TASKS_REDIS_URL: server.url,
  DIRACX_LOG_FORMAT: "json",
};
const cli = path.join(root, "bin/diracx-tasks.mjs");
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

// The same from the TypeScript sources through tsx (a checkout: `dev`, the chaos scenarios).
const { DIRACX_TASKS_COMPILED: _compiled, ...sourceEnv } = env;

function startWorker(workerEnv: NodeJS.ProcessEnv = env): ChildProcess {
  const child = spawn(process.execPath, [cli, "worker", "--size", "small", "--concurrency", "4", "--shutdown-timeout", "5"], { cwd: app, env: workerEnv, stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  void once(child, "exit").then(() => live.delete(child));
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  await exited;
}

/** Milliseconds from spawn to the first line of `stream` matching `test`; rejects if the process exits first. */
function until(child: ChildProcess, stream: NodeJS.ReadableStream, test: (line: string) => boolean, t0: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: stream });
    const onExit = (code: number | null) => reject(new Error(`worker exited (${code}) before it was ready`));
    child.once("exit", onExit);
    lines.on("line", (line) => {
      if (!test(line)) return;
      child.off("exit", onExit);
      lines.close();
      stream.resume(); // keep draining: a worker blocks on a full stderr pipe
      resolve(performance.now() - t0);
    });
  });
}

/** One cold start: [ready ms, first task completed ms]. */
async function coldStart(workerEnv: NodeJS.ProcessEnv): Promise<[number, number]> {
  const t0 = performance.now();
  const child = startWorker(workerEnv);
  child.stderr!.resume(); // lines are read below; keep the pipe drained otherwise
  const ready = until(child, child.stderr!, (l) => l.includes('"msg":"worker ready"'), t0);
  const first = until(child, child.stdout!, (l) => l === "first-task-done", t0);
  try {
    return [await ready, await first];
  } finally {
    await stopWorker(child);
  }
}

const { Producer, TaskRegistry } = await import("../src/entries/ops.ts");
const { defineTask } = await import("../src/index.ts");
const { z } = await import("zod");
// The producer needs only the task's name, size and schema: the same declaration, in this process.
class Work extends defineTask({ args: z.object({ n: z.number().int(), ms: z.number().int() }), size: "small" }) {
  async execute(): Promise<number> {
    return this.args.n;
  }
}
const producer = new Producer({ connection: server.url, registry: TaskRegistry.fromClasses({ "bench:Work": Work }) });
for (let i = 0; i < BACKLOG; i += 1_000) {
  await producer.submitBulk(Array.from({ length: 1_000 }, (_, j) => ({ task: "bench:Work", args: { n: i + j, ms: 50 + ((i + j) % 151) } })));
}

const load: ChildProcess[] = [];
try {
  for (const phase of ["idle", "loaded", "loaded.source"] as const) {
    if (phase === "loaded") {
      for (let i = 0; i < LOAD_WORKERS; i++) {
        const w = startWorker();
        w.stdout!.resume();
        load.push(w);
        const ready = until(w, w.stderr!, (l) => l.includes('"msg":"worker ready"'), performance.now());
        w.stderr!.resume();
        await ready;
      }
    }
    const ready: number[] = [];
    const first: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      const [r, f] = await coldStart(phase === "loaded.source" ? sourceEnv : env);
      ready.push(r);
      first.push(f);
    }
    const waiting = await producer.queue("small").getJobCountByTypes("wait", "prioritized");
    if (waiting === 0) throw new Error("bench/cold-start: the backlog ran out during the measurement; raise BACKLOG");
    emit(`${phase}.ready_p50_ms`, median(ready), "ms", "reference");
    emit(`${phase}.ready_max_ms`, Math.max(...ready), "ms", "reference");
    emit(`${phase}.first_task_p50_ms`, median(first), "ms", "reference");
    emit(`${phase}.first_task_max_ms`, Math.max(...first), "ms", "reference");
  }
} finally {
  await Promise.all(load.map(stopWorker));
  await producer.close();
  await server.stop();
  fs.rmSync(app, { recursive: true, force: true });
}
