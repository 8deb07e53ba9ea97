import fs from "node:fs/promises";
import path from "node:path";
import { initDatabases, initJobParameters } from "../db/init.ts";
import { JOB_PARAMETERS_DB_NAME } from "../db/os/job-parameters.ts";
import { dbUrlEnvVar, dbUrlFromEnv } from "../db/sql/base.ts";
import { closeAllEngines, getEngine } from "../db/sql/engine.ts";
import { JobDB } from "../db/sql/job-db.ts";
import { TaskDB } from "../db/sql/task-db.ts";
import { setDefaultProducer } from "../engine/context.ts";
import { SIZES, type Size } from "../engine/priorities.ts";
import type { TaskClass } from "../engine/task.ts";
import { TaskRegistry } from "../engine/task-registry.ts";
import { TaskWorker } from "../engine/worker.ts";
import { createEngine, engineWorkerOptions } from "../engine/wiring.ts";
import { DiracxError } from "../errors.ts";
import { logger as rootLogger, type Logger } from "../logging.ts";
import { getRegistry, loadRegistry, SQL_DBS_GROUP, type Registry } from "../registry/index.ts";
import { sandboxStoreEnvVar } from "../sandbox/settings.ts";
import { isSettingsClass, type SettingsClass } from "../settings.ts";
import { optimisationRequests } from "../logic/jobs/optimisation.ts";
import { loadBrokerStartupHooks } from "../scheduler/broker-lifecycle.ts";
import { desiredFromConfig, onAnyChange, periodicTasks } from "../scheduler/desired.ts";
import { Scheduler } from "../scheduler/scheduler.ts";
import { schedulerWorkerOptions } from "../scheduler/state.ts";
import { brokerReadiness, healthPortFrom, startHealthServer } from "../observability/health.ts";
import { exportQueueGauges } from "../observability/queue-gauges.ts";
import { allQueueStatus } from "../observability/queue-status.ts";
import { demoJobs, insertDemoJobs } from "./demo-jobs.ts";
import { writeDemoConfig } from "./demo-config.ts";
import { startRedisChild, type RedisChild } from "./redis-child.ts";
import type { DevSnapshot } from "./summary.ts";
import { AuthSettings } from "../http/auth.ts";
import { generateSigningKey, mintToken } from "../http/dev-keys.ts";
import { DEFAULT_HOST, DEFAULT_PORT, startHttpServer, type HttpServer } from "../http/server.ts";
import { dashboardLoginLink, demoOperatorClaims } from "../dashboard/login-link.ts";

/** The dev stack could not start (the message says which part and why). */
export class DevStackError extends DiracxError {}

export const DEFAULT_DEV_DATA_DIR = ".diracx-dev";

// The dummy job executor (core's tasks/jobs/dummy-executor.ts) stands in for pilots so demo jobs
// finish. It is found in the task registry by its entry name (an extension's replacement counts
// too), and its switch and interval are the variables of the settings class it depends on.
export const DUMMY_EXECUTOR_ENTRY = "DummyJobExecutorMonitorTask";

/** The registered dummy executor monitor and the environment variables of its settings (`enabled`, `intervalSeconds`). */
export function findDummyExecutor(tasks: TaskRegistry): { taskId: string; cls: TaskClass; env: { enabled?: string; intervalSeconds?: string } } | undefined {
  const found = tasks.entries().find(([id]) => id.endsWith(`:${DUMMY_EXECUTOR_ENTRY}`));
  if (!found) return undefined;
  const [taskId, cls] = found;
  const settings = Object.values(cls.dependencies).find(isSettingsClass) as SettingsClass | undefined;
  const vars: Record<string, string> = settings?.envVariables() ?? {};
  return { taskId, cls, env: { ...(vars.enabled ? { enabled: vars.enabled } : {}), ...(vars.intervalSeconds ? { intervalSeconds: vars.intervalSeconds } : {}) } };
}

export const DEFAULT_CONCURRENCY: Readonly<Record<Size, number>> = { small: 4, medium: 2, large: 2 };

export interface DevStackOptions {
  /** Where Redis, PGlite, the demo configuration and the sandbox store keep their data. */
  dataDir: string;
  /** Deletes the data directory first. */
  fresh?: boolean;
  /** Demo jobs submitted at start (default 6; 0 for none). */
  demoJobs?: number;
  concurrency?: Partial<Record<Size, number>>;
  /** How often the dummy executor monitor runs (default 2 s). */
  dummyExecutorIntervalSeconds?: number;
  /** The environment the stack reads and fills in (default: process.env, which the DB layer and settings read). */
  env?: NodeJS.ProcessEnv;
  /** Application root for the registry (default: DIRACX_APP_ROOT or the working directory). */
  appRoot?: string;
  /** Worker shutdown deadline in ms: running tasks get this long before they are put back (default 10 s). */
  shutdownTimeoutMs?: number;
  /** Port of the HTTP API (default 8000; 0 picks a free one); `false` serves no API. */
  port?: number | false;
  host?: string;
  logger?: Logger;
  /** Port of the /healthz, /readyz and /metrics listener (default: DIRACX_TASKS_HEALTH_PORT; none when unset). */
  healthPort?: number;
}

export interface DevStack {
  readonly dataDir: string;
  readonly redisUrl: string;
  /** The pid of the redis-server child; undefined when DIRACX_TASKS_REDIS_URL named a running Redis. */
  readonly redisPid: number | undefined;
  /** The environment variables the stack filled in (those already set were left alone). */
  readonly defaults: Readonly<Record<string, string>>;
  readonly demoJobIds: readonly number[];
  /** The dummy executor monitor's task id, or undefined when no such task is registered (jobs will not move). */
  readonly dummyExecutorTask: string | undefined;
  /** Whether that task is enabled (DIRACX_TASKS_DUMMY_JOB_EXECUTOR_ENABLED; `dev` turns it on unless set). */
  readonly dummyExecutorEnabled: boolean;
  /** The variable switching it on (from its settings class), when it has one. */
  readonly dummyExecutorSwitch: string | undefined;
  /** The HTTP API's URL, when served. */
  readonly apiUrl: string | undefined;
  /** A token for the demo user alice (lhcb, NormalUser) signed by the dev key; undefined when a keystore was set. */
  readonly demoToken: string | undefined;
  /** The dashboard login link of the demo operator bob (lhcb_admin), token in the URL fragment; undefined when a keystore was set. */
  readonly dashboardLoginUrl: string | undefined;
  snapshot(): Promise<DevSnapshot>;
  /** Stops the scheduler, drains the workers, closes the databases, stops the Redis child. Idempotent. */
  stop(): Promise<void>;
}

/**
 * The variables the dev stack sets when they are not already set: one PGlite directory for
 * every SQL DB (PGlite is one connection per process, so all DBs must share one URL — the
 * unit of work then shares one transaction per URL), the SQL-backed job parameters store,
 * the demo configuration, a directory sandbox store, and the dummy job executor.
 */
export function devDefaults(opts: {
  dataDir: string;
  sqlDbNames: readonly string[];
  configFile: string;
  dummyExecutorIntervalSeconds: number;
  /** The dummy executor's variables (findDummyExecutor); none when it is not registered. */
  dummyExecutorEnv?: { enabled?: string; intervalSeconds?: string };
  env: NodeJS.ProcessEnv;
}): Record<string, string> {
  const { env } = opts;
  const dataDir = path.resolve(opts.dataDir);
  const out: Record<string, string> = {};
  const set = (name: string, value: string): void => {
    if (!env[name]?.trim()) out[name] = value;
  };
  const dbUrl = `pglite://${path.join(dataDir, "db")}`;
  for (const name of new Set([...opts.sqlDbNames, JOB_PARAMETERS_DB_NAME])) set(dbUrlEnvVar(name), dbUrl);
  set("DIRACX_CONFIG_BACKEND_URL", opts.configFile);
  if (!env[sandboxStoreEnvVar("bucketName")]?.trim()) set(sandboxStoreEnvVar("directory"), path.join(dataDir, "sandboxes"));
  const dummy = opts.dummyExecutorEnv ?? {};
  if (dummy.enabled) set(dummy.enabled, "true");
  if (dummy.intervalSeconds) set(dummy.intervalSeconds, String(opts.dummyExecutorIntervalSeconds));
  return out;
}

/**
 * Starts the whole system in this process: Redis (a child `redis-server` unless
 * DIRACX_TASKS_REDIS_URL is set), migrated PGlite databases, the scheduler, one worker per
 * size, and submits the demo jobs. Everything runs in one process because PGlite cannot
 * be shared between processes.
 */
export async function startDevStack(opts: DevStackOptions): Promise<DevStack> {
  const env = opts.env ?? process.env;
  const log = (opts.logger ?? rootLogger).child({ component: "dev" });
  const dataDir = path.resolve(opts.dataDir);
  if (opts.fresh) await fs.rm(dataDir, { recursive: true, force: true });
  await fs.mkdir(dataDir, { recursive: true });

  // Undo what was started if a later step fails, in reverse order.
  const cleanups: (() => Promise<void> | void)[] = [];
  const unwind = async (): Promise<void> => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ err: (err as Error).message }, "cleanup step failed");
      }
    }
    cleanups.length = 0;
  };

  try {
    let redisChild: RedisChild | undefined;
    let redisUrl = env.DIRACX_TASKS_REDIS_URL?.trim();
    if (!redisUrl) {
      // Signals are ours to handle: Redis must outlive the workers that hand their jobs back.
      redisChild = await startRedisChild({ dataDir: path.join(dataDir, "redis"), stopOnSignals: false, ...(opts.logger ? { logger: opts.logger } : {}) });
      cleanups.push(() => redisChild!.stop());
      redisUrl = redisChild.url;
      env.DIRACX_TASKS_REDIS_URL = redisUrl;
    }

    const registry: Registry = opts.appRoot ? await loadRegistry({ appRoot: opts.appRoot }) : await getRegistry();
    const configFile = await writeDemoConfig(dataDir);
    const dummyExecutor = findDummyExecutor(await TaskRegistry.load(registry));
    const defaults = devDefaults({
      dataDir,
      sqlDbNames: registry.active(SQL_DBS_GROUP).map((e) => e.name),
      configFile,
      dummyExecutorIntervalSeconds: opts.dummyExecutorIntervalSeconds ?? 2,
      ...(dummyExecutor ? { dummyExecutorEnv: dummyExecutor.env } : {}),
      env,
    });
    Object.assign(env, defaults);
    cleanups.push(() => closeAllEngines());

    const migrated = await initDatabases(registry, { env });
    await initJobParameters(env);
    log.info({ databases: migrated.map((m) => m.className) }, "databases ready");

    const engine = await createEngine({ env, redisUrl, watchConfig: true, ...(opts.appRoot ? { appRoot: opts.appRoot } : {}) });
    cleanups.push(() => engine.close());
    const { tasks, producer, config, tasksConfig } = engine;
    if (!config || !tasksConfig) throw new DevStackError("the engine has no configuration although DIRACX_CONFIG_BACKEND_URL is set");
    // Code outside a task (demo submissions, an embedding caller) submits through the same producer.
    setDefaultProducer(producer);
    cleanups.push(() => setDefaultProducer(undefined));

    const periodic = periodicTasks(tasks);
    // Found by entry name, so an extension's replacement (same name, its own group entry) counts too.
    const dummy = periodic.find((t) => t.taskId === dummyExecutor?.taskId);
    const dummyExecutorTask = dummy?.taskId;
    const dummyExecutorSwitch = dummyExecutor?.env.enabled;
    if (!dummy) log.warn(`no ${DUMMY_EXECUTOR_ENTRY} is registered: demo jobs will stay Received`);
    else if (!dummy.enabled) log.warn(`${dummyExecutorSwitch ?? `${dummy.taskId}'s switch`} is false: demo jobs will stay Received`);

    // TaskDB's URL, read once (the stack set it above); each use opens TaskDB on that URL's engine.
    const taskDbUrl = dbUrlFromEnv(TaskDB.dbName, env);
    const taskDB = (): TaskDB => new TaskDB(getEngine(taskDbUrl));
    const scheduler = new Scheduler({
      redis: engine.redis,
      desired: desiredFromConfig(periodic, config, tasksConfig),
      onConfigChange: (listener) => onAnyChange([config, tasksConfig], listener),
      hooks: await loadBrokerStartupHooks(engine.registry),
      countDeadLetters: () => taskDB().count({ status: "pending" }),
      wipeAccounting: { taskDB },
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    let reconciled = false;
    scheduler.on("reconciled", () => (reconciled = true));
    await scheduler.start();
    cleanups.push(() => scheduler.stop());

    const workers = SIZES.map(
      (size) =>
        new TaskWorker({
          size,
          concurrency: opts.concurrency?.[size] ?? DEFAULT_CONCURRENCY[size],
          ...engineWorkerOptions(engine),
          ...schedulerWorkerOptions(engine.redis, (err) => log.warn({ err: err.message }, "could not record a schedule outcome")),
          ...(opts.logger ? { logger: opts.logger } : {}),
        }),
    );
    // Closed together: each gets the deadline to finish its running tasks.
    cleanups.push(() => Promise.all(workers.map((w) => w.close(opts.shutdownTimeoutMs ?? 10_000))).then(() => undefined));
    await Promise.all(workers.map((w) => w.start()));

    // Without a DiracX auth service to issue tokens, dev signs its own (unless a keystore is set).
    let demoToken: string | undefined;
    let operatorToken: string | undefined;
    let server: HttpServer | undefined;
    if (opts.port !== false) {
      const auth = AuthSettings.envVariables();
      if (!env[auth.tokenKeystore]?.trim() && !env[auth.tokenJwksUrl]?.trim()) {
        const key = await generateSigningKey();
        const issuer = env[auth.tokenIssuer]?.trim() || `http://${opts.host ?? DEFAULT_HOST}:${opts.port ?? DEFAULT_PORT}`;
        Object.assign(env, { [auth.tokenKeystore]: JSON.stringify(key.jwks), [auth.tokenIssuer]: issuer });
        demoToken = await mintToken(key, issuer, { vo: "lhcb", dirac_group: "lhcb_user", dirac_properties: ["NormalUser"], preferred_username: "alice" }, { expiresInSeconds: 12 * 3600 });
        operatorToken = await mintToken(key, issuer, demoOperatorClaims, { expiresInSeconds: 12 * 3600 });
      }
      server = await startHttpServer(engine, { env, host: opts.host ?? DEFAULT_HOST, port: opts.port ?? DEFAULT_PORT, ...(opts.logger ? { logger: opts.logger } : {}) });
      cleanups.push(() => server!.close());
    }

    // The same path as POST /api/jobs/jdl: inserted as Received, then handed to the optimiser.
    const health = healthPortFrom(opts.healthPort, env);
    if (health) {
      const stopGauges = exportQueueGauges({ redis: engine.redis, countDeadLetters: (status) => taskDB().count({ status }) });
      cleanups.push(stopGauges);
      const ready = (): string | undefined =>
        brokerReadiness(engine.redis) ??
        (reconciled ? undefined : "schedules not reconciled yet") ??
        (workers.every((w) => w.ready) ? undefined : "a worker is not taking work");
      const server = await startHealthServer({ ...health, ready });
      cleanups.push(() => server.close());
    }

    const demoJobIds = await insertDemoJobs(demoJobs(opts.demoJobs ?? 6), { registry: engine.registry, env });
    if (demoJobIds.length) await producer.submitBulk(optimisationRequests(demoJobIds));
    log.info({ jobs: demoJobIds }, "demo jobs submitted");

    const jobDB = JobDB.fromEnv<JobDB>(env);
    let stopping: Promise<void> | undefined;

    return {
      dataDir,
      redisUrl,
      redisPid: redisChild?.pid,
      defaults,
      demoJobIds,
      dummyExecutorTask,
      dummyExecutorEnabled: dummy?.enabled ?? false,
      dummyExecutorSwitch,
      apiUrl: server?.url,
      demoToken,
      dashboardLoginUrl: server && operatorToken ? dashboardLoginLink(server.url, operatorToken) : undefined,
      async snapshot(): Promise<DevSnapshot> {
        const [depths, all, demo] = await Promise.all([
          allQueueStatus((size) => producer.queue(size)),
          jobDB.summary(["Status"]),
          demoJobIds.length
            ? jobDB.summary(["Status"], [{ parameter: "JobID", operator: "in", values: [...demoJobIds] }])
            : Promise.resolve([]),
        ]);
        const byStatus = (rows: Record<string, unknown>[]): Record<string, number> =>
          Object.fromEntries(rows.map((r) => [String(r.Status), Number(r.count)]));
        const demoByStatus = byStatus(demo);
        return {
          queues: depths,
          jobsByStatus: byStatus(all),
          demo: { total: demoJobIds.length, done: demoByStatus.Done ?? 0, byStatus: demoByStatus },
        };
      },
      stop(): Promise<void> {
        return (stopping ??= unwind());
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
