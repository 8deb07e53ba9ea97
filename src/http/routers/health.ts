// Probes for the orchestrator, as DiracX's health router: no authentication, not in OpenAPI.
// Ready means the configuration is loaded and Redis and every SQL DB answer.
import { sql } from "kysely";
import { getEngine, redactUrl } from "../../db/sql/engine.ts";
import type { Engine } from "../../engine/wiring.ts";
import { HttpError, RETRY_AFTER_SECONDS } from "../errors.ts";
import { defineRouter, route } from "../router.ts";

async function readinessProblems(engine: Engine): Promise<string[]> {
  const problems: string[] = [];
  if (engine.config) {
    try {
      engine.config.current();
    } catch (err) {
      problems.push(`configuration: ${(err as Error).message}`);
    }
  }
  try {
    await engine.redis.ping();
  } catch (err) {
    problems.push(`redis: ${(err as Error).message}`);
  }
  // A DB without a URL is not used by this process (routers needing it refused to start).
  for (const url of engine.sqlDbUrls) {
    try {
      await sql`SELECT 1`.execute(getEngine(url));
    } catch (err) {
      problems.push(`${redactUrl(url)}: ${(err as Error).message}`);
    }
  }
  return problems;
}

async function ready(engine: Engine, what: string): Promise<{ status: string }> {
  const problems = await readinessProblems(engine);
  if (problems.length) throw new HttpError(503, `not ready: ${problems.join("; ")}`, { "Retry-After": String(RETRY_AFTER_SECONDS) });
  return { status: what };
}

export const router = defineRouter({ requireAuth: false, includeInSchema: false }, [
  route({ method: "GET", path: "/live", name: "liveness", openAccess: true, handler: async () => ({ status: "live" }) }),
  route({ method: "GET", path: "/ready", name: "readiness", openAccess: true, handler: async (_req, ctx) => ready(ctx.engine, "ready") }),
  route({ method: "GET", path: "/startup", name: "startup", openAccess: true, handler: async (_req, ctx) => ready(ctx.engine, "startup complete") }),
]);
