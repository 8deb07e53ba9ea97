import { Command, InvalidArgumentError } from "commander";
import { TaskWorker } from "../../engine/worker.ts";
import { deadLetterOption } from "../../engine/dead-letter.ts";
import { createEngine, engineWorkerOptions } from "../../engine/wiring.ts";
import { schedulerWorkerOptions } from "../../scheduler/state.ts";
import { isSize, SIZES, type Size } from "../../engine/priorities.ts";
import { logger } from "../../logging.ts";
import { brokerReadiness, healthPortFrom, parsePort, startHealthServer } from "../../observability/health.ts";
import type { CliContext } from "../context.ts";

/** Time beyond --shutdown-timeout for requeueing tasks and closing connections before the process exits anyway. */
const STOP_GRACE_SECONDS = 10;

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${v}'`);
  return n;
}

/** `diracx-tasks worker`: runs the tasks of one size until SIGTERM/SIGINT. */
export function workerCommand(ctx: CliContext): Command {
  return new Command("worker")
    .requiredOption("--size <size>", `size class (${SIZES.join(", ")})`, (v: string): Size => {
      if (!isSize(v)) throw new InvalidArgumentError(`expected one of ${SIZES.join(", ")}`);
      return v;
    })
    .option("--concurrency <n>", "tasks run at once", positiveInt, 4)
    .option("--shutdown-timeout <seconds>", "on SIGTERM/SIGINT, time running tasks get to finish before they are put back", Number, 30)
    .option("--health-port <port>", "serve /healthz, /readyz and /metrics on this port (default: DIRACX_TASKS_HEALTH_PORT; none when unset)", parsePort)
    .action(async (opts: { size: Size; concurrency: number; shutdownTimeout: number; healthPort?: number }) => {
      const health = healthPortFrom(opts.healthPort, ctx.env);
      const engine = await createEngine({ watchConfig: true, requireConfig: "a worker", settings: ctx.tasks, env: ctx.env });
      const worker = new TaskWorker({
        size: opts.size,
        concurrency: opts.concurrency,
        ...engineWorkerOptions(engine),
        ...schedulerWorkerOptions(engine.redis, (err) => logger.warn({ err: err.message }, "could not record a schedule outcome")),
        ...deadLetterOption(engine.redis, ctx.env), // dead-letter hook: drain the outbox into TaskDB when DIRACX_DB_URL_TASKDB is set
      });
      worker.onReadyChange((ready) => logger.info({ ready }, ready ? "worker ready" : "worker not ready"));
      const stopped = new Promise<NodeJS.Signals>((resolve) => {
        process.once("SIGTERM", () => resolve("SIGTERM"));
        process.once("SIGINT", () => resolve("SIGINT"));
      });
      // Listening before the worker connects: /healthz answers and /readyz says why not while Redis is away.
      const healthServer = health
        ? await startHealthServer({ ...health, ready: () => brokerReadiness(engine.redis) ?? (worker.ready ? undefined : "worker is not taking work") })
        : undefined;
      // SIGTERM is honoured in every state, also while the first connection is still awaited
      // (Redis away, wrong password): the start is not waited for then.
      const signal = await Promise.race([stopped, worker.start().then(() => stopped)]);
      logger.info({ signal, deadlineSeconds: opts.shutdownTimeout }, "stopping: no new tasks; waiting for running ones");
      // The stop itself is bounded: running tasks are put back at the deadline, and if closing the
      // broker connections still does not finish (seen once after a whole Redis Cluster was
      // re-created under a worker), the process says so and exits rather than hang until SIGKILL.
      const stopBound = (opts.shutdownTimeout + STOP_GRACE_SECONDS) * 1000;
      setTimeout(() => {
        logger.error({ afterSeconds: stopBound / 1000 }, "worker did not stop within its shutdown deadline plus grace; exiting");
        process.exit(1);
      }, stopBound).unref();
      await worker.close(opts.shutdownTimeout * 1000);
      await engine.close();
      await healthServer?.close();
      logger.info("worker stopped");
    });
}
