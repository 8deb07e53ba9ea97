// What every fault-injection scenario stands on: a broker Redis it may restart or wipe, a ledger
// Redis apart from it (what ran, as the tasks themselves recorded it), TaskDB on PostgreSQL, real
// worker processes (`diracx-tasks worker`) whose log lines are read back, and the accounting that
// turns all of it into the figures: lost, silent failures, started more than once, failed for good.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pg from "pg";
import { initDatabases } from "../src/db/init.ts";
import { queueNameFor, type Size } from "../src/engine/priorities.ts";
import { Producer, TaskRegistry } from "../src/entries/ops.ts";
import { BULL_PREFIX } from "../src/redis-keys.ts";
import { loadRegistry } from "../src/registry/index.ts";
import { createTestDatabase, PostgresServer, stopTestPostgres } from "../test/support/postgres.ts";
import { freePort, waitForPort } from "../test/support/ports.ts";
import { LEDGER } from "./app/tasks.ts";

export const ROOT = path.resolve(import.meta.dirname, "..");
export const APP_ROOT = path.join(ROOT, "chaos/app");
const CLI = path.join(ROOT, "bin/diracx-tasks.mjs");

/** One printed figure: `{"bench":"chaos.<scenario>.<name>","value":…,"unit":…,"target":…}`. */
export interface Figure {
  value: number;
  unit: string;
  target: string;
}
export type Figures = Record<string, Figure>;

export function figure(value: number, unit: string, target = ""): Figure {
  return { value, unit, target };
}

/** A redis-server child; `persistent` keeps an append-only file so a restart is not a wipe. */
export class RedisProcess {
  private proc: ChildProcess | undefined;
  private readonly dir: string;
  private constructor(
    readonly port: number,
    private readonly persistent: boolean,
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-chaos-redis-"));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(opts: { persistent?: boolean } = {}): Promise<RedisProcess> {
    const r = new RedisProcess(await freePort(), opts.persistent ?? false);
    await r.up();
    return r;
  }

  async up(): Promise<void> {
    if (this.proc) return;
    const persistence = this.persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
    const proc = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--save", "", ...persistence, "--loglevel", "warning"], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    proc.on("error", (err) => {
      throw new Error(`cannot start redis-server (${err.message})`);
    });
    this.proc = proc;
    process.once("exit", () => proc.kill("SIGKILL"));
    await waitForPort(this.port, "redis-server");
  }

  /** Down: SIGTERM lets a persistent server flush its file; SIGKILL is a crash. */
  async down(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    proc.kill(signal);
    await once(proc, "exit");
  }

  async close(): Promise<void> {
    await this.down("SIGKILL");
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Worker processes still running: a scenario's workers never outlive it, even if it crashes. */
const liveChildren = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of liveChildren) c.kill("SIGKILL");
});

/** A "task failed for good" log line, as a worker printed it. */
export interface FailureLine {
  taskId: string;
  reason: string;
  deadLetter: boolean;
}

/** Real worker processes of one size, their log lines parsed as they come. */
export class WorkerPool {
  readonly procs = new Set<ChildProcess>();
  readonly failures = new Map<string, FailureLine>();
  /** Every log line, and the lines per message. */
  lines = 0;
  readonly messages = new Map<string, number>();
  kills = 0;
  /** Workers that exited by themselves. */
  crashes = 0;
  private stopping = false;
  private readonly exits = new Set<Promise<unknown>>();

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly opts: { size: Size; concurrency: number },
  ) {}

  spawn(): ChildProcess {
    const child = spawn(process.execPath, [CLI, "worker", "--size", this.opts.size, "--concurrency", String(this.opts.concurrency), "--shutdown-timeout", "5"], {
      cwd: ROOT,
      env: this.env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.procs.add(child);
    liveChildren.add(child);
    const exited = once(child, "exit").then(() => (this.procs.delete(child), liveChildren.delete(child)));
    this.exits.add(exited);
    void exited.finally(() => this.exits.delete(exited));
    let rest = "";
    const tail: string[] = [];
    child.stderr!.on("data", (d: Buffer) => {
      const parts = (rest + d.toString()).split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts) {
        this.line(line);
        tail.push(line);
        if (tail.length > 5) tail.shift();
      }
    });
    // A worker that exits by itself (not killed or stopped by the scenario) is a crash: counted and shown.
    child.on("exit", (code, signal) => {
      if (this.stopping || signal === "SIGKILL") return;
      this.crashes++;
      progress(`worker ${child.pid} exited by itself (${signal ?? `code ${code}`}): ${tail.join(" | ").slice(0, 600)}`);
    });
    return child;
  }

  private line(text: string): void {
    if (!text.trim()) return;
    this.lines++;
    let rec: { msg?: string; taskId?: string; reason?: string; deadLetter?: boolean };
    try {
      rec = JSON.parse(text) as typeof rec;
    } catch {
      this.messages.set("(not JSON)", (this.messages.get("(not JSON)") ?? 0) + 1);
      return;
    }
    const msg = rec.msg ?? "";
    this.messages.set(msg, (this.messages.get(msg) ?? 0) + 1);
    if (msg === "task failed for good" && rec.taskId) this.failures.set(rec.taskId, { taskId: rec.taskId, reason: rec.reason ?? "", deadLetter: rec.deadLetter ?? false });
  }

  /**
   * SIGKILLs one worker at random among those in `eligible` (by pid: the ones that have taken
   * work, not ones still starting) and starts its replacement. False if none was eligible.
   */
  killOne(eligible?: ReadonlySet<number>): boolean {
    const list = [...this.procs].filter((p) => p.exitCode === null && p.signalCode === null && (!eligible || eligible.has(p.pid!)));
    const victim = list[Math.floor(Math.random() * list.length)];
    if (!victim) return false;
    victim.kill("SIGKILL");
    this.kills++;
    this.spawn();
    return true;
  }

  /** SIGKILLs every worker at once and starts as many again. */
  killAll(): void {
    const list = [...this.procs].filter((p) => p.exitCode === null && p.signalCode === null);
    for (const p of list) {
      p.kill("SIGKILL");
      this.kills++;
    }
    for (let i = 0; i < list.length; i++) this.spawn();
  }

  /** SIGTERM every worker (SIGKILL after 20 s) and wait for them. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const p of this.procs) p.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const p of this.procs) p.kill("SIGKILL");
    }, 20_000);
    await Promise.all([...this.exits]);
    clearTimeout(timer);
  }
}

export interface StackOptions {
  workers: number;
  concurrency: number;
  /** BullMQ job lock (ms): how soon a dead worker's task goes back to its queue. */
  jobLockMs: number;
  /** DIRACX_TASKS_MAX_STALLED_COUNT; undefined = the default (src/settings.ts). */
  maxStalled?: number | undefined;
  /** Broker with an append-only file (a restart keeps the queues). */
  persistentBroker?: boolean;
  /** TaskDB and ChaosDB on a PostgreSQL of this scenario's own, which it may stop. */
  privatePostgres?: boolean;
  extraEnv?: Record<string, string>;
}

/** A running system under test. */
export class Stack {
  private constructor(
    readonly broker: RedisProcess,
    readonly ledgerServer: RedisProcess,
    readonly ledger: Redis,
    readonly redis: Redis,
    readonly env: NodeJS.ProcessEnv,
    readonly producer: Producer,
    readonly queue: Queue,
    private readonly queueConnection: Redis,
    readonly pool: WorkerPool,
    readonly dbUrl: string,
    readonly postgres: PostgresServer | undefined,
  ) {}

  static async start(o: StackOptions): Promise<Stack> {
    const broker = await RedisProcess.start({ persistent: o.persistentBroker ?? false });
    const ledgerServer = await RedisProcess.start();
    let postgres: PostgresServer | undefined;
    let dbUrl: string;
    if (o.privatePostgres) {
      postgres = await PostgresServer.start();
      dbUrl = postgres.url;
    } else {
      dbUrl = await createTestDatabase("chaos");
    }
    const nodeOptions = process.env.NODE_OPTIONS ?? "";
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_OPTIONS: nodeOptions.includes("diracx-source") ? nodeOptions : `${nodeOptions} --conditions=diracx-source`.trim(),
      DIRACX_APP_ROOT: APP_ROOT,
      DIRACX_CONFIG_BACKEND_URL: path.join(APP_ROOT, "diracx-config.yaml"),
      DIRACX_TASKS_REDIS_URL: broker.url,
      DIRACX_DB_URL_TASKDB: dbUrl,
      DIRACX_DB_URL_CHAOSDB: dbUrl,
      CHAOS_LEDGER_URL: ledgerServer.url,
      DIRACX_LOG_LEVEL: "warn",
      DIRACX_LOG_FORMAT: "json",
      DIRACX_TASKS_JOB_LOCK_MS: String(o.jobLockMs),
      DIRACX_TASKS_STALLED_INTERVAL_MS: String(Math.max(100, Math.round(o.jobLockMs / 2))),
      DIRACX_TASKS_LOCK_TTL_MS: String(Math.max(1000, o.jobLockMs)),
      ...(o.maxStalled !== undefined ? { DIRACX_TASKS_MAX_STALLED_COUNT: String(o.maxStalled) } : {}),
      ...o.extraEnv,
    };
    const registry = await loadRegistry({ appRoot: APP_ROOT });
    await initDatabases(registry, { env, only: ["TaskDB", "ChaosDB"] });
    const producer = new Producer({ connection: broker.url, registry: await TaskRegistry.load(registry) });
    const redis = new Redis(broker.url, { maxRetriesPerRequest: null });
    const ledger = new Redis(ledgerServer.url, { maxRetriesPerRequest: null });
    const queueConnection = new Redis(broker.url, { maxRetriesPerRequest: null });
    const queue = new Queue(queueNameFor("small"), { connection: queueConnection, prefix: BULL_PREFIX });
    for (const e of [redis, ledger, queue, queueConnection]) e.on("error", () => {}); // scenarios take Redis away on purpose
    const pool = new WorkerPool(env, { size: "small", concurrency: o.concurrency });
    for (let i = 0; i < o.workers; i++) pool.spawn();
    return new Stack(broker, ledgerServer, ledger, redis, env, producer, queue, queueConnection, pool, dbUrl, postgres);
  }

  /** Submits `args` of `task` through the project's producer, in bulk; returns taskId → n. */
  async submit(task: string, args: readonly ({ n: number } & Record<string, unknown>)[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < args.length; i += 500) {
      const chunk = args.slice(i, i + 500);
      const ids = await this.producer.submitBulk(chunk.map((a) => ({ task, args: a })));
      ids.forEach((id, j) => out.set(id, chunk[j]!.n));
    }
    return out;
  }

  /** As submit, each task delayed by `delayMs`. */
  async submitDelayed(task: string, args: readonly ({ n: number } & Record<string, unknown>)[], delayMs: number): Promise<Map<string, number>> {
    const ids = await this.producer.submitBulk(args.map((a) => ({ task, args: a, opts: { delay: delayMs } })));
    return new Map(ids.map((id, j) => [id, args[j]!.n]));
  }

  async workersOnline(n: number, timeoutMs = 120_000): Promise<void> {
    await until(`${n} workers online`, async () => (await this.queue.getWorkersCount()) >= n, timeoutMs);
  }

  /** Pids of the worker processes that have started a task. */
  async workingPids(): Promise<Set<number>> {
    return new Set((await this.ledger.smembers(LEDGER.pids)).map(Number));
  }

  async doneCount(): Promise<number> {
    return this.ledger.scard(LEDGER.done);
  }

  /** Tasks still to run: waiting, delayed, prioritized, active. */
  async pending(): Promise<number> {
    const c = await this.queue.getJobCounts("waiting", "delayed", "prioritized", "active", "waiting-children");
    return Object.values(c).reduce((a, b) => a + b, 0);
  }

  /**
   * Waits until every submitted task finished (done in the ledger) or failed (BullMQ's failed
   * set), or until nothing has been pending for `idleMs` (what is left then is lost), or the
   * deadline. `tick` runs between polls (the scenario's faults). Returns whether it drained.
   */
  async drain(total: number, opts: { idleMs: number; timeoutMs: number; tick?: () => Promise<void> | void }): Promise<boolean> {
    const deadline = Date.now() + opts.timeoutMs;
    let idleSince: number | undefined;
    for (;;) {
      await opts.tick?.();
      const [done, failed, pending] = await Promise.all([this.doneCount(), this.queue.getFailedCount(), this.pending()]).catch(() => [0, 0, 1] as const);
      if (done + failed >= total && pending === 0) return true;
      if (pending === 0) {
        idleSince ??= Date.now();
        if (Date.now() - idleSince > opts.idleMs) return false;
      } else idleSince = undefined;
      if (Date.now() > deadline) return false;
      await sleep(250);
    }
  }

  /** Task ids in TaskDB's dead-letter table. */
  async deadLetterIds(): Promise<Set<string>> {
    const client = new pg.Client({ connectionString: this.dbUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ task_id: string }>("SELECT task_id FROM dlq_tasks");
      return new Set(rows.map((r) => r.task_id));
    } finally {
      await client.end();
    }
  }

  /** Waits (bounded) until every id in `ids` is in TaskDB: dead letters are drained from the outbox asynchronously. */
  async awaitDeadLetters(ids: readonly string[], timeoutMs = 60_000): Promise<Set<string>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = await this.deadLetterIds().catch(() => new Set<string>());
      if (ids.every((id) => got.has(id)) || Date.now() > deadline) return got;
      await sleep(250);
    }
  }

  async close(): Promise<void> {
    await this.pool.stop();
    await this.producer.close();
    await this.queue.close();
    this.queueConnection.disconnect();
    this.redis.disconnect();
    this.ledger.disconnect();
    await this.broker.close();
    await this.ledgerServer.close();
    if (this.postgres) await this.postgres.stop();
    else await stopTestPostgres();
  }
}

/** A progress line on stderr (stdout carries only the figures). */
export function progress(message: string): void {
  if (process.env.CHAOS_QUIET !== "1") process.stderr.write(`chaos: ${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

/** Polls `check` until true; throws naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve().then(check).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export interface Accounting {
  submitted: number;
  completed: number;
  lost: number;
  /** Failed for good with no log line, or eligible and not in TaskDB. */
  silentFailures: number;
  startedMoreThanOnce: number;
  neverStarted: number;
  failedForGood: number;
  failedLogged: number;
  failedInTaskDB: number;
  /** Failed-for-good reasons (from the log lines) and how many. */
  reasons: Record<string, number>;
  lostIds: string[];
  failedIds: string[];
}

/**
 * What became of every submitted task: completed (its body finished, per the ledger), failed for
 * good (BullMQ's failed set, a "task failed for good" line or a dead letter), or lost (neither).
 * Every task of the chaos app is dead-letter eligible, so a failure missing from TaskDB is silent.
 */
export async function account(stack: Stack, submitted: Map<string, number>, opts: { awaitDeadLetters?: boolean } = {}): Promise<Accounting> {
  const done = new Set((await stack.ledger.smembers(LEDGER.done)).map(Number));
  const starts = await stack.ledger.hgetall(LEDGER.starts);
  const failedJobs = new Set((await stack.queue.getFailed(0, -1)).map((j) => j.id as string));
  const failedIds = [...submitted].filter(([id, n]) => !done.has(n) && (failedJobs.has(id) || stack.pool.failures.has(id))).map(([id]) => id);
  const inDb = opts.awaitDeadLetters === false ? await stack.deadLetterIds() : await stack.awaitDeadLetters(failedIds);
  const reasons: Record<string, number> = {};
  let failedLogged = 0;
  let failedInTaskDB = 0;
  let silentFailures = 0;
  for (const id of failedIds) {
    const line = stack.pool.failures.get(id);
    if (line) {
      failedLogged++;
      reasons[line.reason] = (reasons[line.reason] ?? 0) + 1;
    }
    if (inDb.has(id)) failedInTaskDB++;
    if (!line || !inDb.has(id)) silentFailures++;
  }
  const failed = new Set(failedIds);
  const lostIds = [...submitted].filter(([id, n]) => !done.has(n) && !failed.has(id) && !inDb.has(id)).map(([id]) => id);
  const ns = new Set(submitted.values());
  return {
    submitted: submitted.size,
    completed: [...ns].filter((n) => done.has(n)).length,
    lost: lostIds.length,
    silentFailures,
    startedMoreThanOnce: Object.entries(starts).filter(([n, c]) => ns.has(Number(n)) && Number(c) > 1).length,
    neverStarted: [...ns].filter((n) => !starts[String(n)]).length,
    failedForGood: failedIds.length,
    failedLogged,
    failedInTaskDB,
    reasons,
    lostIds,
    failedIds,
  };
}

/** The accounting as figures. */
export function accountingFigures(a: Accounting): Figures {
  return {
    submitted: figure(a.submitted, "tasks"),
    completed: figure(a.completed, "tasks"),
    lost: figure(a.lost, "tasks", "= 0"),
    silent_failures: figure(a.silentFailures, "tasks", "= 0"),
    started_more_than_once: figure(a.startedMoreThanOnce, "tasks", "at-least-once: allowed"),
    failed_for_good: figure(a.failedForGood, "tasks"),
    failed_for_good_logged: figure(a.failedLogged, "tasks", "= failed_for_good"),
    failed_for_good_in_taskdb: figure(a.failedInTaskDB, "tasks", "= failed_for_good (all eligible)"),
  };
}

/** Random integer in [min, max]. */
export function between(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}
