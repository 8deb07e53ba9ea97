// `diracx-tasks serve --health-port`: the probe and scrape listener of the HTTP API process, on a
// port of its own; a real serve process on a private Redis and PostgreSQL.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { freePort } from "../support/ports.ts";
import { waitFor } from "../engine/support.ts";
import { setupHttpEnv } from "../http/support.ts";
import { cliWith, get, STARTUP_MS } from "./support.ts";

const he = await setupHttpEnv({ backend: "postgresql" });
const clean: NodeJS.ProcessEnv = {};
for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("DIRACX_") && k !== "NODE_TEST_CONTEXT") clean[k] = v;
const { start, stop, stopAll } = cliWith({ ...clean, ...he.env, DIRACX_LOG_LEVEL: "warn", DIRACX_LOG_FORMAT: "json" });

after(async () => {
  await stopAll();
  await he.close();
});

describe("serve: health listener", () => {
  it("answers /healthz, /readyz and /metrics apart from the API, and /readyz follows Redis", async () => {
    const [apiPort, healthPort] = [await freePort(), await freePort()];
    const serve = start(["serve", "--port", String(apiPort), "--health-port", String(healthPort)]);
    await waitFor("serve ready", async () => (await get(healthPort, "/readyz"))?.status === 200, STARTUP_MS);
    assert.equal((await get(healthPort, "/healthz"))?.status, 200);
    const metrics = await get(healthPort, "/metrics");
    assert.equal(metrics?.status, 200);
    assert.match(metrics!.body, /^process_cpu_user_seconds_total /m, "the process's default metrics");
    assert.doesNotMatch(metrics!.body, /diracx_tasks_queue_depth/, "queue gauges come from the scheduler only");
    await waitFor("the API answers", async () => (await get(apiPort, "/api/openapi.json"))?.status === 200, STARTUP_MS);
    assert.equal((await get(apiPort, "/metrics"))?.status, 404, "the API port does not expose the metrics");

    await he.redis.stop();
    const down = await waitFor("readyz 503", async () => {
      const r = await get(healthPort, "/readyz");
      return r?.status === 503 ? r : undefined;
    }, 60_000);
    assert.match(down.body, /not ready/);
    assert.equal((await get(healthPort, "/healthz"))?.status, 200, "still alive while Redis is away");
    await he.redis.restart();
    await waitFor("readyz 200 again", async () => (await get(healthPort, "/readyz"))?.status === 200, 60_000);
    await stop(serve);
  });
});
