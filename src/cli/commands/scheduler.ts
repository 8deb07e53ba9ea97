import { Command } from "commander";
import { ConfigSource, TasksConfigSource } from "../../config/source.ts";
import { dbUrlEnvVar } from "../../db/sql/base.ts";
import { closeAllEngines } from "../../db/sql/engine.ts";
import { TaskDB } from "../../db/sql/task-db.ts";
import { connectBroker } from "../../engine/connection.ts";
import { redisUrlFromEnv } from "../../engine/keys.ts";
import { TaskRegistry } from "../../engine/task-registry.ts";
import { logger } from "../../logging.ts";
import { getRegistry } from "../../registry/index.ts";
import { loadBrokerStartupHooks } from "../../scheduler/broker-lifecycle.ts";
import { desiredFromConfig, onAnyChange, periodicTasks } from "../../scheduler/desired.ts";
import { Scheduler } from "../../scheduler/scheduler.ts";

/** `diracx-tasks scheduler`: keeps the periodic schedules in Redis in line with registry × configuration. */
export function schedulerCommand(): Command {
  return new Command("scheduler")
    .option("--redis-url <url>", "broker URL (default: DIRACX_TASKS_REDIS_URL or redis://localhost:6379)")
    .option("--broker-check-interval <seconds>", "how often to check for a wiped broker", "10")
    .action(async (opts: { redisUrl?: string; brokerCheckInterval: string }) => {
      const registry = await getRegistry();
      const tasks = periodicTasks(await TaskRegistry.load(registry));
      const config = await ConfigSource.fromEnv(registry);
      const tasksConfig = await TasksConfigSource.fromEnv(config);
      const hooks = await loadBrokerStartupHooks(registry);
      const redis = connectBroker(opts.redisUrl ?? redisUrlFromEnv(), "diracx-tasks:scheduler");
      const hasTaskDB = Boolean(process.env[dbUrlEnvVar(TaskDB.dbName)]);
      const scheduler = new Scheduler({
        redis,
        desired: desiredFromConfig(tasks, config, tasksConfig),
        onConfigChange: (listener) => onAnyChange([config, tasksConfig], listener),
        hooks,
        ...(hasTaskDB ? { countDeadLetters: () => TaskDB.fromEnv<TaskDB>().count({ status: "pending" }) } : {}),
        brokerCheckIntervalMs: Number(opts.brokerCheckInterval) * 1000,
      });
      logger.info({ periodicTasks: tasks.length, hooks: hooks.map((h) => h.name) }, "scheduler starting");
      await scheduler.start();
      // Graceful stop: finish the reconcile in progress, then close the connections.
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          logger.info({ signal }, "scheduler stopping");
          resolve();
        };
        process.once("SIGTERM", () => stop("SIGTERM"));
        process.once("SIGINT", () => stop("SIGINT"));
      });
      await scheduler.stop();
      tasksConfig.close();
      config.close();
      redis.disconnect();
      await closeAllEngines();
    });
}
