import http from "node:http";
import type { AddressInfo } from "node:net";
import { InvalidArgumentError } from "commander";
import { connectionNameOf, type BrokerConnection } from "../redis-cluster.ts";
import { collectDefaultMetrics } from "prom-client";
import { metricsRegistry } from "../engine/metrics.ts";
import { logger } from "../logging.ts";
import { HealthSettings } from "./settings.ts";

/** Why a process is not ready, or undefined when it is. */
export type ReadinessCheck = () => string | undefined | Promise<string | undefined>;

export interface HealthServerOptions {
  /** 0 picks a free port (tests); read it back from `HealthServer.port`. */
  port: number;
  host?: string;
  /** `/readyz` answers 503 with this reason while it returns one. */
  ready: ReadinessCheck;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

let defaultMetricsOn = false;

/** Process metrics (CPU, memory, event-loop lag, GC) under their prom-client names, once per process. */
function ensureDefaultMetrics(): void {
  if (defaultMetricsOn) return;
  defaultMetricsOn = true;
  collectDefaultMetrics({ register: metricsRegistry });
}

/**
 * The probe and scrape listener of a long-running process: `/healthz` (the process
 * answers), `/readyz` (it can do its job), `/metrics` (Prometheus text). A listener of
 * its own, on its own port, so an ingress that exposes an HTTP API never exposes these.
 */
export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  ensureDefaultMetrics();
  const server = http.createServer((req, res) => {
    void answer(req, res, opts.ready).catch((err: unknown) => {
      logger.warn({ err: (err as Error).message, path: req.url }, "health endpoint failed");
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end("internal error\n");
    });
  });
  // A probe that hangs must not keep the process alive at shutdown.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, "health listener started (/healthz, /readyz, /metrics)");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answer(req: http.IncomingMessage, res: http.ServerResponse, ready: ReadinessCheck): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
    return;
  }
  const path = (req.url ?? "/").split("?")[0];
  switch (path) {
    case "/healthz":
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"live"}\n');
      return;
    case "/readyz": {
      const reason = await ready();
      if (reason === undefined) res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ready"}\n');
      else res.writeHead(503, { "content-type": "application/json", "retry-after": "10" }).end(`${JSON.stringify({ status: "not ready", detail: reason })}\n`);
      return;
    }
    case "/metrics": {
      const text = await metricsRegistry.metrics();
      res.writeHead(200, { "content-type": metricsRegistry.contentType }).end(text);
      return;
    }
    default:
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /healthz, /readyz or /metrics\n");
  }
}

/** The port a command's `--health-port` or `DIRACX_TASKS_HEALTH_PORT` asks for, if any. */
export function healthPortFrom(flag: number | undefined, env: NodeJS.ProcessEnv = process.env): { port: number; host: string } | undefined {
  const settings = HealthSettings.fromEnv(env);
  const port = flag ?? settings.port;
  return port === undefined ? undefined : { port, host: settings.host };
}

/** Commander parser for `--health-port`. */
export function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError(`expected a port number (0-65535), got '${v}'`);
  return n;
}

/** Not ready while a broker connection is down; follows ioredis' own connection state. */
export function brokerReadiness(...connections: BrokerConnection[]): string | undefined {
  const down = connections.find((c) => c.status !== "ready");
  return down ? `broker connection ${connectionNameOf(down) ?? ""} is ${down.status}`.replace("  ", " ") : undefined;
}
