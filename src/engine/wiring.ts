import type { BrokerConnection } from "../redis-cluster.ts";
import { DiracxError } from "../errors.ts";
import { ConfigSource, TasksConfigSource } from "../config/source.ts";
import { openUnitOfWork, readSettingsOnce, SQL_DB_GROUP } from "../db/unit-of-work.ts";
import { configuredDbUrl } from "../db/sql/base.ts";
import { TaskDB } from "../db/sql/task-db.ts";
import { LockManager } from "../locks/index.ts";
import { loadLockObjectTypes } from "../locks/object-types.ts";
import { getRegistry, loadRegistry, type Registry } from "../registry/index.ts";
import { connectBroker } from "./connection.ts";
import { enableTracingFromEnv } from "../observability/tracing.ts";
import { limitsFromTasksConfig } from "./limits.ts";
import { resolveTaskSettings } from "../config/tasks-config.ts";
import { checkTasksConfigSource } from "../config/config-check.ts";
import type { RetryOverrideResolver } from "./retry-strategy.ts";
import type { LimitsResolver, OpenUnitOfWork } from "./ports.ts";
import { Producer } from "./producer.ts";
import { retentionOf, type Retention } from "./retention.ts";
import { SettingsError, TasksSettings } from "../settings.ts";
import { logSettingsProblem } from "../logging.ts";
import { TaskRegistry } from "./task-registry.ts";
import { workerTimings, type TaskWorkerOptions, type WorkerTimings } from "./worker.ts";

/** Everything a worker, the CLI or a router needs to submit and run tasks. */
export interface Engine {
  registry: Registry;
  tasks: TaskRegistry;
  redisUrl: string;
  redis: BrokerConnection;
  /** The task system's settings (DIRACX_TASKS_*), read once here and passed down. */
  settings: TasksSettings;
  /** TaskDB's URL (DIRACX_DB_URL_TASKDB), read once here; undefined when dead letters stay in the outbox. */
  taskDbUrl: string | undefined;
  /** The URLs of the registered SQL databases that are configured here (read once; readiness checks them). */
  sqlDbUrls: readonly string[];
  timings: WorkerTimings;
  retention: Retention;
  producer: Producer;
  lockManager: LockManager;
  openUnitOfWork: OpenUnitOfWork;
  limitsFor: LimitsResolver | undefined;
  retryFor: RetryOverrideResolver | undefined;
  config: ConfigSource | undefined;
  /** The tasks configuration (the document's `Tasks` section or DIRACX_TASKS_CONFIG). */
  tasksConfig: TasksConfigSource | undefined;
  close(): Promise<void>;
}

export interface EngineOptions {
  redisUrl?: string;
  appRoot?: string;
  env?: NodeJS.ProcessEnv;
  /** The task system's settings when the caller has read them already (the CLI's context); else read from `env`. */
  settings?: TasksSettings;
  /** Watch the configuration for changes (workers do; one-shot CLI commands need not). */
  watchConfig?: boolean;
  /** Refuse to start without DIRACX_CONFIG_BACKEND_URL (a worker would silently run without limits and overrides). */
  requireConfig?: string;
}

/**
 * The one place the engine is wired to the registry, locks, databases and
 * configuration: loads lock object types and task classes from the registry,
 * opens the broker connection, and reads task limits from the (hot-reloaded)
 * tasks configuration when DIRACX_CONFIG_BACKEND_URL is set.
 */
export async function createEngine(opts: EngineOptions = {}): Promise<Engine> {
  const env = opts.env ?? process.env;
  if (opts.requireConfig && !env.DIRACX_CONFIG_BACKEND_URL) {
    throw new DiracxError(`${opts.requireConfig} needs the DiracX configuration (VOs, task limits and overrides): set DIRACX_CONFIG_BACKEND_URL`);
  }
  // Every DIRACX_TASKS_* and DIRACX_LOG_* variable, read (and a bad one refused, naming it) before anything starts.
  const logProblem = logSettingsProblem(opts.env);
  if (logProblem) throw new SettingsError(logProblem);
  const settings = opts.settings ?? TasksSettings.fromEnv(env);
  await enableTracingFromEnv(env); // loads OpenTelemetry only when DIRACX_OTEL_ENABLED=true
  const registry = opts.appRoot ? await loadRegistry({ appRoot: opts.appRoot }) : await getRegistry();
  await loadLockObjectTypes(registry);
  const tasks = await TaskRegistry.load(registry);
  // The settings classes the tasks declare, read once here (a bad value stops the process, naming it).
  const taskSettings = readSettingsOnce(tasks.entries().map(([, cls]) => cls.dependencies), env);
  const watch = opts.watchConfig ? {} : { watch: false };
  const config = env.DIRACX_CONFIG_BACKEND_URL ? await ConfigSource.fromEnv(registry, env, watch) : undefined;
  const tasksConfig = config ? await TasksConfigSource.fromEnv(config, env, watch) : undefined;
  try {
    if (tasksConfig) checkTasksConfigSource(tasksConfig, tasks);
  } catch (err) {
    tasksConfig?.close();
    config?.close();
    throw err;
  }
  const redisUrl = opts.redisUrl ?? settings.redisUrl;
  const redis = connectBroker(redisUrl, "diracx-tasks:engine");
  const retention = retentionOf(settings);
  // The workers apply the retention (retention.ts); jobs do not carry it.
  const producer = new Producer({ connection: redis, registry: tasks, maxPayloadBytes: settings.maxPayloadBytes });
  return {
    registry,
    tasks,
    redisUrl,
    redis,
    settings,
    taskDbUrl: configuredDbUrl(TaskDB.dbName, env),
    sqlDbUrls: [...new Set(registry.active(SQL_DB_GROUP).flatMap((ep) => configuredDbUrl(ep.name, env) ?? []))],
    timings: workerTimings(settings),
    retention,
    producer,
    lockManager: new LockManager(redis),
    openUnitOfWork: (spec) => openUnitOfWork(spec, { registry, ...(config ? { config } : {}), env, settings: taskSettings }),
    limitsFor: tasksConfig ? limitsFromTasksConfig(() => tasksConfig.current()) : undefined,
    retryFor: tasksConfig ? (taskId, vo) => resolveTaskSettings(tasksConfig.current(), taskId, vo).retry : undefined,
    config,
    tasksConfig,
    async close() {
      await producer.close();
      tasksConfig?.close();
      config?.close();
      redis.disconnect();
    },
  };
}

/**
 * The engine-wide part of a TaskWorker's options (broker, tasks, producer, databases, locks,
 * configured limits and retry overrides), so every place that starts workers wires them alike.
 */
export function engineWorkerOptions(
  engine: Engine,
): Pick<TaskWorkerOptions, "connection" | "registry" | "submitter" | "openUnitOfWork" | "lockManager" | "limitsFor" | "retryFor" | "timings" | "retention" | "maxPayloadBytes"> {
  return {
    connection: engine.redisUrl,
    timings: engine.timings,
    retention: engine.retention,
    maxPayloadBytes: engine.settings.maxPayloadBytes,
    registry: engine.tasks,
    submitter: engine.producer,
    openUnitOfWork: engine.openUnitOfWork,
    lockManager: engine.lockManager,
    ...(engine.limitsFor ? { limitsFor: engine.limitsFor } : {}),
    ...(engine.retryFor ? { retryFor: engine.retryFor } : {}),
  };
}
