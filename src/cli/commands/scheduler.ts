import { Command } from "commander";
import { ConfigSource, TasksConfigSource } from "../../config/source.ts";
import { configuredDbUrl } from "../../db/sql/base.ts";
import { closeAllEngines, getEngine } from "../../db/sql/engine.ts";
import { TaskDB } from "../../db/sql/task-db.ts";
import { connectBroker } from "../../engine/connection.ts";
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
import type { CliContext } from "../context.ts";

/** `diracx-tasks scheduler`: keeps the periodic schedules in Redis in line with registry × configuration. */
export function schedulerCommand(ctx: CliContext): Command {
  return new Command("scheduler")
    .option("--redis-url <url>", "broker URL (default: DIRACX_TASKS_REDIS_URL or redis://localhost:6379)")
    .option("--broker-check-interval <seconds>", "how often to check for a wiped broker", "10")
    .option("--health-port <port>", "serve /healthz, /readyz, /metrics and the queue gauges on this port (default: DIRACX_TASKS_HEALTH_PORT; none when unset)", parsePort)
    .action(async (opts: { redisUrl?: string; brokerCheckInterval: string; healthPort?: number }) => {
      // Every DIRACX_TASKS_* variable, read once by the command runner (a bad one stopped it, naming it).
      const settings = ctx.tasks;
      const health = healthPortFrom(opts.healthPort, ctx.env);
      const registry = await getRegistry();
      await loadLockObjectTypes(registry);
      const taskRegistry = await TaskRegistry.load(registry);
      const tasks = periodicTasks(taskRegistry);
      const config = await ConfigSource.fromEnv(registry, ctx.env);
      const tasksConfig = await TasksConfigSource.fromEnv(config, ctx.env);
      try {
        checkTasksConfigSource(tasksConfig, taskRegistry);
      } catch (err) {
        tasksConfig.close();
        config.close();
        throw err;
      }
      const hooks = await loadBrokerStartupHooks(registry);
      const redis = connectBroker(opts.redisUrl ?? settings.redisUrl, "diracx-tasks:scheduler");
      const taskDbUrl = configuredDbUrl(TaskDB.dbName, ctx.env);
      const taskDB = taskDbUrl ? (): TaskDB => new TaskDB(getEngine(taskDbUrl)) : undefined;
      const scheduler = new Scheduler({
        redis,
        desired: desiredFromConfig(tasks, config, tasksConfig),
        onConfigChange: (listener) => onAnyChange([config, tasksConfig], listener),
        hooks,
        ...(taskDB ? { countDeadLetters: () => taskDB().count({ status: "pending" }) } : {}),
        ...(taskDB ? { wipeAccounting: { taskDB, intervalMs: settings.queueSnapshotSeconds * 1000 } } : {}),
        brokerCheckIntervalMs: Number(opts.brokerCheckInterval) * 1000,
      });
      let reconciled = false;
      scheduler.on("reconciled", () => (reconciled = true));
      // The scheduler is the one process that exports the queue-level gauges (no duplicate series).
      const stopGauges = health ? exportQueueGauges({ redis, ...(taskDB ? { countDeadLetters: (status) => taskDB().count({ status }) } : {}) }) : undefined;
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
