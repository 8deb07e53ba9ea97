// End to end through a real port: a NormalUser submits a JDL over HTTP, a worker optimises it
// into a task queue with the active find_compatible_platforms' platforms, the dummy executor
// (fired by the real scheduler) matches and runs it, and a search shows it Done.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { FindCompatiblePlatforms } from "../../src/resources/platforms.ts";
import { TaskQueueDB } from "../../src/db/sql/task-queue-db.ts";
import { TaskWorker } from "../../src/engine/worker.ts";
import { engineWorkerOptions } from "../../src/engine/wiring.ts";
import { desiredFromConfig, onAnyChange, periodicTasks } from "../../src/scheduler/desired.ts";
import { Scheduler } from "../../src/scheduler/scheduler.ts";
import { startHttpServer, type HttpServer } from "../../src/http/server.ts";
import { waitFor } from "../engine/support.ts";
import { CORE_ROOT, GUBBINS_ROOT, setupHttpEnv, users, type HttpEnv } from "./support.ts";
import pino from "pino";

const quiet = pino({ level: "silent" });
const saved = { ...process.env };
after(() => {
  process.env = saved;
});

async function runStack(he: HttpEnv): Promise<{ server: HttpServer; stop: () => Promise<void> }> {
  // The dummy executor's switch is read from the process environment when the scheduler asks.
  process.env.DIRACX_TASKS_DUMMY_JOB_EXECUTOR_ENABLED = "true";
  process.env.DIRACX_TASKS_DUMMY_JOB_EXECUTOR_INTERVAL_SECONDS = "1";
  const { engine } = he;
  const workers = (["small", "large"] as const).map((size) => new TaskWorker({ size, concurrency: 2, ...engineWorkerOptions(engine), logger: quiet }));
  for (const w of workers) await w.start();
  const scheduler = new Scheduler({
    redis: engine.redis,
    desired: desiredFromConfig(periodicTasks(engine.tasks), engine.config!, engine.tasksConfig!),
    onConfigChange: (l) => onAnyChange([engine.config!, engine.tasksConfig!], l),
    hooks: [],
    logger: quiet,
  });
  await scheduler.start();
  const server = await startHttpServer(engine, { env: he.env, port: 0, logger: quiet });
  return {
    server,
    async stop() {
      await server.close();
      await scheduler.stop();
      for (const w of workers) await w.close(2_000);
    },
  };
}

async function submitAndFollow(he: HttpEnv, url: string, platform: string): Promise<{ jobId: number; tqPlatforms: string[]; finalStatus: string }> {
  const token = await he.token(users.alice);
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const jdl = `[\n  Executable = "echo";\n  JobName = "e2e";\n  Platform = "${platform}";\n  CPUTime = 3600;\n]`;
  const res = await fetch(`${url}/api/jobs/jdl`, { method: "POST", headers, body: JSON.stringify([jdl]) });
  assert.equal(res.status, 200, await res.clone().text());
  const { JobID: jobId, Status } = ((await res.json()) as { JobID: number; Status: string }[])[0]!;
  assert.equal(Status, "Received");
  const search = async (): Promise<{ Status: string; MinorStatus: string }> => {
    const r = await fetch(`${url}/api/jobs/search`, { method: "POST", headers, body: JSON.stringify({ parameters: ["JobID", "Status", "MinorStatus"], search: [{ parameter: "JobID", operator: "eq", value: jobId }] }) });
    assert.equal(r.status, 200);
    return ((await r.json()) as { Status: string; MinorStatus: string }[])[0]!;
  };
  // The task queue is read while the job waits in it; the executor then takes it out.
  let tqPlatforms: string[] | undefined;
  const tqDB = TaskQueueDB.fromEnv<TaskQueueDB>(he.env);
  await waitFor("the job optimised into a task queue (or already matched)", async () => {
    const [tq] = await tqDB.getTqInfosForJobs([jobId]);
    if (tq) tqPlatforms = (await tqDB.retrieveTaskQueues([tq.TQId]))[tq.TQId]!.Platforms;
    return tqPlatforms;
  });
  const final = await waitFor("the job Done", async () => {
    const j = await search();
    return j.Status === "Done" || j.Status === "Failed" ? j : undefined;
  }, 60_000);
  return { jobId, tqPlatforms: tqPlatforms!, finalStatus: final.Status };
}

describe("end to end over HTTP on Redis + PostgreSQL", () => {
  test("core: submit → optimised with core's platforms → executed → Done", async () => {
    const he = await setupHttpEnv({ backend: "postgresql", appRoot: CORE_ROOT });
    const stack = await runStack(he);
    try {
      const platforms = await he.engine.registry.resource<FindCompatiblePlatforms>("find_compatible_platforms");
      const out = await submitAndFollow(he, stack.server.url, "x86_64-el9");
      assert.equal(out.finalStatus, "Done");
      assert.deepEqual(out.tqPlatforms, [...platforms(["x86_64-el9"], he.engine.config!.current())].sort());
      assert.equal((await fetch(`${stack.server.url}/api/lollygag/get_owners`)).status, 404, "no lollygag router without gubbins");
    } finally {
      await stack.stop();
      await he.close();
    }
  });

  test("gubbins: its platforms (ANY → every platform) and /api/lollygag", async () => {
    const he = await setupHttpEnv({ backend: "postgresql", appRoot: GUBBINS_ROOT });
    const stack = await runStack(he);
    try {
      const out = await submitAndFollow(he, stack.server.url, "ANY");
      assert.equal(out.finalStatus, "Done");
      assert.deepEqual(out.tqPlatforms, ["x86_64-el8", "x86_64-el9"]);
      const headers = { authorization: `Bearer ${await he.token(users.alice)}` };
      assert.equal((await fetch(`${stack.server.url}/api/lollygag/insert_owner/ada`, { method: "POST", headers })).status, 200);
      const owners = await fetch(`${stack.server.url}/api/lollygag/get_owners`, { headers });
      assert.deepEqual(await owners.json(), ["ada"]);
      const sync = await fetch(`${stack.server.url}/api/lollygag/sync_owner/ada`, { method: "POST", headers });
      assert.equal(sync.status, 403, "syncing needs GubbinsSensei");
    } finally {
      await stack.stop();
      await he.close();
    }
  });
});
