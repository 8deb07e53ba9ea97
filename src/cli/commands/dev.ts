import path from "node:path";
import { getRegistry } from "../../registry/index.ts";
import { Command, InvalidArgumentError } from "commander";
import { DEFAULT_PORT } from "../../http/server.ts";
import { parsePort } from "../../observability/health.ts";
import { portNumber } from "./serve.ts";
import { startDevStack, DEFAULT_DEV_DATA_DIR, type DevStack } from "../../dev/stack.ts";
import { renderSnapshot, statusLine } from "../../dev/summary.ts";
import { logger } from "../../logging.ts";
import type { CliContext } from "../context.ts";
import { createLiveBlock } from "../ui.ts";

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number, got '${v}'`);
  return n;
}

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got '${v}'`);
  return n;
}

interface DevOptions {
  dataDir: string;
  fresh?: boolean;
  untilDone?: boolean;
  timeout: number;
  jobs: number;
  port: number;
}

/**
 * `diracx-tasks dev`: the whole system in this process with embedded defaults, a few demo
 * jobs, and a live summary until Ctrl-C (or, with --until-done, until the demo jobs are Done).
 */
export function devCommand(ctx: CliContext): Command {
  return new Command("dev")
    .option("--data-dir <dir>", "where Redis, PGlite, the demo configuration and sandboxes keep their data", DEFAULT_DEV_DATA_DIR)
    .option("--fresh", "delete the data directory first (not an external Redis named by DIRACX_TASKS_REDIS_URL)")
    .option("--until-done", "exit 0 once every demo job is Done (non-zero after --timeout): a one-line smoke test")
    .option("--timeout <seconds>", "with --until-done: give up after this long", positiveNumber, 90)
    .option("--jobs <n>", "demo jobs to submit", nonNegativeInt, 6)
    .option("--port <port>", "port of the HTTP API (0: any free port)", portNumber, DEFAULT_PORT)
    .option("--health-port <port>", "serve /healthz, /readyz, /metrics and the queue gauges on this port (default: DIRACX_TASKS_HEALTH_PORT)", parsePort)
    .action(async (opts: DevOptions & { healthPort?: number }) => {
      // Task logs would tear the live summary apart; DIRACX_LOG_LEVEL=info brings them back (on stderr).
      if (!ctx.logLevelSet) logger.level = "warn";
      const started = Date.now();
      const stack = await startDevStack({ dataDir: opts.dataDir, fresh: opts.fresh ?? false, demoJobs: opts.jobs, port: opts.port, ...(opts.healthPort !== undefined ? { healthPort: opts.healthPort } : {}) });
      const out = process.stdout;
      const ext = (await getRegistry()).activeExtension;
      out.write(`dev: extension ${ext.name} ${ext.version}${ext.package !== "diracx-tasks" ? ` (package ${ext.package})` : " (core only, no extension installed)"}\n`);
      const where = path.relative(process.cwd(), stack.dataDir) || ".";
      out.write(
        `dev: redis ${stack.redisUrl}${stack.redisPid !== undefined ? ` (redis-server pid ${stack.redisPid})` : ""}, data in ${where}, ` +
          `${stack.demoJobIds.length} demo jobs submitted; ${opts.untilDone ? "waiting for them to be Done" : "Ctrl-C to stop"}\n`,
      );
      if (stack.apiUrl) {
        out.write(`dev: API on ${stack.apiUrl} (docs ${stack.apiUrl}/api/docs)\n`);
        if (stack.demoToken) out.write(`dev: token for demo user alice (lhcb_user): export TOKEN=${stack.demoToken}\n`);
        if (stack.dashboardLoginUrl) out.write(`dev: dashboard for demo operator bob (lhcb_admin): ${stack.dashboardLoginUrl}\n`);
      }
      if (stack.demoJobIds.length > 0 && !(stack.dummyExecutorTask && stack.dummyExecutorEnabled)) {
        out.write(`dev: the dummy job executor is ${stack.dummyExecutorTask ? `disabled (${stack.dummyExecutorSwitch ?? "its switch is off"})` : "not registered"}, so the demo jobs will not move\n`);
      }

      const code = await watch(stack, opts, started, ctx.ci);
      await stack.stop();
      process.exitCode = code;
    });
}

/** Redraws the summary every second until a signal (exit 0) or, with --until-done, the outcome. */
async function watch(stack: DevStack, opts: DevOptions, started: number, ci: boolean): Promise<number> {
  const block = createLiveBlock(process.stdout, { ci });
  const header = `diracx-tasks dev · ${stack.redisUrl} · ${opts.untilDone ? `until the demo jobs are Done (time-out ${opts.timeout} s)` : "Ctrl-C to stop"}`;
  const deadline = started + opts.timeout * 1000;
  let signalled: NodeJS.Signals | undefined;
  let wake: () => void = () => {};
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      // A second Ctrl-C: stop waiting for running tasks (the Redis child is killed on exit).
      process.stderr.write("dev: second signal, exiting now\n");
      process.exit(130);
    }
    signalled = signal;
    wake();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const stopped = (): number => {
    block.done();
    process.stdout.write(`dev: ${signalled} received, stopping\n`);
    return opts.untilDone ? 130 : 0;
  };
  try {
    for (;;) {
      try {
        const snap = await stack.snapshot();
        block.render(renderSnapshot(snap, header));
        if (opts.untilDone) {
          if (snap.demo.done === snap.demo.total) {
            block.done();
            process.stdout.write(`dev: ${snap.demo.done}/${snap.demo.total} demo jobs Done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
            return 0;
          }
          if (!stack.dummyExecutorTask) {
            block.done();
            process.stderr.write("dev: no dummy job executor task is registered, so the demo jobs cannot reach Done\n");
            return 1;
          }
          if (Date.now() > deadline) {
            block.done();
            const why = stack.dummyExecutorEnabled ? "" : `; the dummy job executor is disabled (${stack.dummyExecutorSwitch ?? "its switch is off"})`;
            process.stderr.write(`dev: timed out after ${opts.timeout} s with ${snap.demo.done}/${snap.demo.total} demo jobs Done (${statusLine(snap.demo.byStatus)})${why}\n`);
            return 1;
          }
        }
      } catch (err) {
        // A summary that fails once (e.g. Redis reconnecting) is not a reason to stop the stack.
        const reason = err instanceof Error ? err.message : String(err);
        logger.warn({ err: reason }, "dev: could not read the summary");
        if (opts.untilDone && Date.now() > deadline) {
          block.done();
          process.stderr.write(`dev: timed out after ${opts.timeout} s; the summary could not be read: ${reason}\n`);
          return 1;
        }
      }
      if (signalled) return stopped();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (signalled) return stopped();
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
