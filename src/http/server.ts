// Starting and stopping the HTTP API around an engine: what `serve` and `dev` share.
import type { Engine } from "../engine/wiring.ts";
import { setDefaultProducer } from "../engine/context.ts";
import type { Logger } from "../logging.ts";
import type { Env } from "../settings.ts";
import { buildApp, type AppOptions, type DiracxApp } from "./app.ts";

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 8000;

export interface HttpServer extends DiracxApp {
  /** `http://host:port`, the port the system chose when 0 was asked. */
  readonly url: string;
  close(): Promise<void>;
}

export interface ServeOptions extends Omit<AppOptions, "engine"> {
  host?: string;
  port?: number;
}

export async function startHttpServer(engine: Engine, opts: ServeOptions = {}): Promise<HttpServer> {
  const built = await buildApp({ engine, ...opts });
  // Routes submit tasks (optimisation after a submission) through the engine's producer.
  setDefaultProducer(engine.producer);
  const address = await built.app.listen({ host: opts.host ?? DEFAULT_HOST, port: opts.port ?? DEFAULT_PORT });
  return {
    ...built,
    url: address,
    async close() {
      await built.app.close();
    },
  };
}

export type { Env, Logger };
