import { Command } from "commander";
import { ConfigSource, TasksConfigSource } from "../../config/source.ts";
import { dbUrlEnvVar } from "../../db/sql/base.ts";
import { closeAllEngines } from "../../db/sql/engine.ts";
import { TaskDB } from "../../db/sql/task-db.ts";
import { connectBroker } from "../../engine/connection.ts";
import { TasksSettings } from "../../settings.ts";
import { TaskRegistry } from "../../engine/task-registry.ts";
import { loadLockObjectTypes } from "../../locks/object-types.ts";
import { checkTasksConfigSource } from "../../config/config-check.ts";
import { logger } from "../../logging.ts";
import { brokerReadiness, healthPortFrom, parsePort, startHealthServer } from "../../observability/health.ts";
import { exportQueueGauges } from "../../observability/queue-gauges.ts";
import { getRegistry } from "../../registry/index.ts";
import { loadBrokerStartupHooks } from "../../scheduler/broker-lifecycle.ts";
import { desiredFromConfig, onAnyChange, periodicTasks } from "../../scheduler/desired.ts";
import { Scheduler } from "../../scheduler/scheduler.ts";

/** `diracx-tasks scheduler`: keeps the periodic schedules in Redis in line with registry × configuration. */
export function schedulerCommand(): Command {
  return new Command("scheduler")
    .option("--redis-url <url>", "broker URL (default: DIRACX_TASKS_REDIS_URL or redis://localhost:6379)")
    .option("--broker-check-interval <seconds>", "how often to check for a wiped broker", "10")
    .option("--health-port <port>", "serve /healthz, /readyz, /metrics and the queue gauges on this port (default: DIRACX_TASKS_HEALTH_PORT; none when unset)", parsePort)
    .action(async (opts: { redisUrl?: string; brokerCheckInterval: string; healthPort?: number }) => {
      // Every DIRACX_TASKS_* variable, read once here (a bad one stops the command, naming it).
      const settings = TasksSettings.fromEnv();
      const health = healthPortFrom(opts.healthPort);
      const registry = await getRegistry();
      await loadLockObjectTypes(registry);
      const taskRegistry = await TaskRegistry.load(registry);
      const tasks = periodicTasks(taskRegistry);
      const config = await ConfigSource.fromEnv(registry);
      const tasksConfig = await TasksConfigSource.fromEnv(config);
      try {
        checkTasksConfigSource(tasksConfig, taskRegistry);
      } catch (err) {
        tasksConfig.close();
        config.close();
        throw err;
      }
      const hooks = await loadBrokerStartupHooks(registry);
      const redis = connectBroker(opts.redisUrl ?? settings.redisUrl, "diracx-tasks:scheduler");
      const hasTaskDB = Boolean(process.env[dbUrlEnvVar(TaskDB.dbName)]);
      const scheduler = new Scheduler({
        redis,
        desired: desiredFromConfig(tasks, config, tasksConfig),
        onConfigChange: (listener) => onAnyChange([config, tasksConfig], listener),
        hooks,
        ...(hasTaskDB ? { countDeadLetters: () => TaskDB.fromEnv<TaskDB>().count({ status: "pending" }) } : {}),
        ...(hasTaskDB ? { wipeAccounting: { taskDB: () => TaskDB.fromEnv<TaskDB>(), intervalMs: settings.queueSnapshotSeconds * 1000 } } : {}),
        brokerCheckIntervalMs: Number(opts.brokerCheckInterval) * 1000,
      });
      let reconciled = false;
      scheduler.on("reconciled", () => (reconciled = true));
      // The scheduler is the one process that exports the queue-level gauges (no duplicate series).
      const stopGauges = health ? exportQueueGauges({ redis, ...(hasTaskDB ? { countDeadLetters: (status) => TaskDB.fromEnv<TaskDB>().count({ status }) } : {}) }) : undefined;
      const healthServer = health
        ? await startHealthServer({ ...health, ready: () => brokerReadiness(redis) ?? (reconciled ? undefined : "schedules not reconciled yet") })
        : undefined;
      logger.info({ periodicTasks: tasks.length, hooks: hooks.map((h) => h.name) }, "scheduler starting");
      // Graceful stop: finish the reconcile in progress, then close the connections. SIGTERM
      // counts in every state, also while the start still waits for the broker.
      const stopped = new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          logger.info({ signal }, "scheduler stopping");
          resolve();
        };
        process.once("SIGTERM", () => stop("SIGTERM"));
        process.once("SIGINT", () => stop("SIGINT"));
      });
      let started = false;
      await Promise.race([stopped, scheduler.start().then(() => (started = true))]);
      if (!started) redis.disconnect(); // never connected: nothing to finish, and stop() would wait for it
      await stopped;
      await scheduler.stop();
      await healthServer?.close();
      await stopGauges?.();
      tasksConfig.close();
      config.close();
      redis.disconnect();
      await closeAllEngines();
    });
}
