// Real `diracx-tasks` processes for the observability tests: a CLI run, long-running commands
// stopped with SIGTERM, HTTP reads of a health listener and samples of its Prometheus text.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "bin/diracx-tasks.mjs");

export interface Cli {
  run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  start(args: string[], extraEnv?: Record<string, string>): ChildProcess;
  stop(child: ChildProcess): Promise<void>;
  stopAll(): Promise<void>;
}

/** Runs the CLI with `env`; `start` keeps the children it started so `stopAll` ends them. */
export function cliWith(env: NodeJS.ProcessEnv): Cli {
  const children = new Set<ChildProcess>();
  const stop = async (child: ChildProcess): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    await exited;
  };
  return {
    run(args) {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      return new Promise((resolve) => child.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr })));
    },
    start(args, extraEnv = {}) {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...env, ...extraEnv }, stdio: ["ignore", "ignore", "inherit"] });
      children.add(child);
      child.on("exit", () => children.delete(child));
      return child;
    },
    stop,
    stopAll: () => Promise.all([...children].map((c) => stop(c))).then(() => {}),
  };
}

export async function get(port: number, p: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${p}`);
    return { status: r.status, body: await r.text() };
  } catch {
    return undefined; // not listening yet
  }
}

/** The value of one sample line of Prometheus text, or undefined when absent. */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const inner = line.slice(name.length + 1, line.indexOf("}"));
    const have = inner.split(",");
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(line.slice(line.indexOf("}") + 1));
  }
  return undefined;
}

/** How long a process may take to come up: a CLI start loads the app's modules, slow on a busy machine. */
export const STARTUP_MS = 120_000;
