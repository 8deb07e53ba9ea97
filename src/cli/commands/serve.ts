import { Command, InvalidArgumentError } from "commander";
import { createEngine } from "../../engine/wiring.ts";
import { DEFAULT_HOST, DEFAULT_PORT, startHttpServer } from "../../http/server.ts";
import { logger } from "../../logging.ts";
import { brokerReadiness, healthPortFrom, parsePort, startHealthServer, type HealthServer } from "../../observability/health.ts";
import { disableTracing, setupHttpTracing } from "../../observability/tracing.ts";
import type { CliContext } from "../context.ts";

export function portNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port number (0-65535), got '${v}'`);
  return n;
}

/** `diracx-tasks serve`: the HTTP API (routers of `diracx.services`) until SIGTERM/SIGINT. */
export function serveCommand(ctx: CliContext): Command {
  return new Command("serve")
    .description("serve the HTTP API (DiracX routers that start background work, the operator API, health)")
    .option("--host <host>", "address to listen on", DEFAULT_HOST)
    .option("--port <port>", "port to listen on", portNumber, DEFAULT_PORT)
    .option("--health-port <port>", "serve /healthz, /readyz and /metrics on this port, apart from the API (default: DIRACX_TASKS_HEALTH_PORT; none when unset)", parsePort)
    .action(async (opts: { host: string; port: number; healthPort?: number }) => {
      const health = healthPortFrom(opts.healthPort, ctx.env);
      // tracing hook: HTTP, PostgreSQL and ioredis spans when DIRACX_OTEL_ENABLED=true (before anything connects)
      await setupHttpTracing(ctx.env);
      const engine = await createEngine({ watchConfig: true, settings: ctx.tasks, env: ctx.env });
      let server;
      let healthServer: HealthServer | undefined;
      try {
        healthServer = health ? await startHealthServer({ ...health, ready: () => brokerReadiness(engine.redis) }) : undefined;
        server = await startHttpServer(engine, { host: opts.host, port: opts.port });
      } catch (err) {
        await healthServer?.close();
        await engine.close();
        throw err;
      }
      logger.info({ url: server.url, routers: server.routers.map((r) => r.system) }, "serving");
      process.stderr.write(`diracx-tasks serve: listening on ${server.url} (docs: ${server.url}/api/docs)\n`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once("SIGTERM", () => resolve("SIGTERM"));
        process.once("SIGINT", () => resolve("SIGINT"));
      });
      logger.info({ signal }, "stopping the HTTP API");
      await server.close();
      await engine.close();
      await healthServer?.close();
      await disableTracing(); // flushes the spans not yet exported
    });
}
