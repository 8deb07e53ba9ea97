// The dashboard steering a running system, in headless Chromium: a real `serve` app on a port,
// real Redis and PGlite, the gubbins extension (plus one lock-holding fixture task), the
// engine's own TaskWorkers and the scheduler, in this process (PGlite is one process's).
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { getEngine } from "../../src/db/sql/engine.ts";
import { TaskDB } from "../../src/db/sql/task-db.ts";
import { deadLetterOption } from "../../src/engine/dead-letter.ts";
import type { Size } from "../../src/engine/priorities.ts";
import { engineWorkerOptions } from "../../src/engine/wiring.ts";
import { TaskWorker } from "../../src/engine/worker.ts";
import { startHttpServer, type HttpServer } from "../../src/http/server.ts";
import { desiredFromConfig, periodicTasks } from "../../src/scheduler/desired.ts";
import { Scheduler } from "../../src/scheduler/scheduler.ts";
import { schedulerWorkerOptions } from "../../src/scheduler/state.ts";
import { CORE_ROOT, setupHttpEnv, users, type HttpEnv } from "../http/support.ts";
import { launchChromium, loginPage, reloadUntil, SCREENSHOTS, sameOriginContext, skipWithoutChromium } from "./support.ts";

const APP_ROOT = path.join(CORE_ROOT, "test/fixtures/dashboard-app");
const SCHEDULE = "lollygag:OwnerCleanupTask";

describe("dashboard steering a running system", { skip: skipWithoutChromium }, () => {
  let he: HttpEnv;
  let server: HttpServer;
  let browser: Browser;
  let taskDB: TaskDB;
  let scheduler: Scheduler | undefined;
  const workers: TaskWorker[] = [];
  const foreign: string[] = [];

  const startScheduler = async (): Promise<Scheduler> => {
    const e = he.engine;
    const s = new Scheduler({ redis: e.redis, desired: desiredFromConfig(periodicTasks(e.tasks), e.config!, e.tasksConfig!) });
    await s.start();
    return s;
  };

  before(async () => {
    he = await setupHttpEnv({ appRoot: APP_ROOT });
    taskDB = new TaskDB(getEngine(he.dbUrl));
    server = await startHttpServer(he.engine, { env: he.env, port: 0 });
    for (const size of ["small", "medium"] as Size[]) {
      const w = new TaskWorker({
        size,
        concurrency: 2,
        ...engineWorkerOptions(he.engine),
        ...schedulerWorkerOptions(he.engine.redis),
        ...deadLetterOption(he.engine.redis, he.env),
        // Locks extended every half second, so a force-released one is noticed at once.
        timings: { lockTtlMs: 1500 },
      });
      await w.start();
      workers.push(w);
    }
    scheduler = await startScheduler();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await scheduler?.stop();
    for (const w of workers) await w.close(2_000);
    await server?.close();
    await he?.close();
    assert.deepEqual(foreign, [], "no request leaves for another origin");
  });

  async function operator(): Promise<{ ctx: BrowserContext; page: Page }> {
    const ctx = await sameOriginContext(browser, server.url, foreign);
    // Confirmation dialogs (force-release) are accepted as an operator would.
    ctx.on("page", (p) => p.on("dialog", (d) => void d.accept()));
    return { ctx, page: await loginPage(ctx, he.token, users.serviceAdmin) };
  }

  const row = (page: Page, id: string) => page.locator(`tr[data-schedule="${id}"]`);

  test("a paused schedule stays paused across a scheduler restart; resuming it brings it back", async () => {
    const { ctx, page } = await operator();
    await page.goto("/dashboard/schedules/");
    assert.equal(await row(page, SCHEDULE).locator(".badge").textContent(), "active");
    await row(page, SCHEDULE).getByRole("button", { name: "Pause" }).click();
    await page.waitForSelector(".flash.ok");
    assert.equal(await row(page, SCHEDULE).locator(".badge").textContent(), "paused");

    await scheduler!.stop();
    scheduler = undefined;
    scheduler = await startScheduler();
    await page.reload();
    assert.equal(await row(page, SCHEDULE).locator(".badge").textContent(), "paused", "the restarted scheduler kept the pause");
    assert.equal(await row(page, SCHEDULE).locator("td").nth(4).textContent(), "-", "a paused schedule has no next run");

    await row(page, SCHEDULE).getByRole("button", { name: "Resume" }).click();
    await page.waitForSelector(".flash.ok");
    assert.equal(await row(page, SCHEDULE).locator(".badge").textContent(), "active");
    await page.screenshot({ path: path.join(SCREENSHOTS, "dashboard-schedules.png") });
    await ctx.close();
  });

  test("trigger now submits the task; it appears and a worker runs it", async () => {
    const { ctx, page } = await operator();
    await page.goto("/dashboard/schedules/");
    await row(page, SCHEDULE).getByRole("button", { name: "Trigger now" }).click();
    const flash = page.locator(".flash.ok");
    await flash.waitFor();
    await flash.getByRole("link").click();
    await page.waitForURL(/\/dashboard\/tasks\//);
    assert.match((await page.locator("h1").textContent()) ?? "", /^Task /);
    assert.equal(await page.locator("dd.task").textContent(), SCHEDULE);
    await reloadUntil(page, "the triggered task to complete", async () => (await page.locator("dd.state").textContent()) === "completed");
    await ctx.close();
  });

  test("force-releasing a lock held by a running task tells the task it lost it", async () => {
    const { ctx, page } = await operator();
    await page.goto("/dashboard/tasks/");
    const form = page.locator('tr[data-task-type="dashboard:HoldsOwnerLock"] form.submit');
    await form.locator('input[name="arg.ownerName"]').fill("zaphod");
    await form.getByRole("button", { name: "Submit" }).click();
    await page.waitForURL(/\/dashboard\/tasks\/[^/]+\?ok=/);
    const taskUrl = new URL(page.url()).pathname;
    await reloadUntil(page, "the task to run", async () => (await page.locator("dd.state").textContent()) === "active");
    assert.match((await page.locator("section.locks").textContent()) ?? "", /lollygag:zaphod/);

    await page.goto("/dashboard/locks/?object=lollygag:zaphod");
    const lock = page.locator("tr[data-lock]");
    assert.equal(await lock.count(), 1);
    assert.equal(await lock.locator("td").nth(3).textContent(), "dashboard:HoldsOwnerLock", "the holder task is shown");
    await lock.getByRole("button", { name: "Force release" }).click();
    await page.waitForSelector(".flash.ok");
    assert.equal(await page.locator("tr[data-lock]").count(), 0);

    await page.goto(taskUrl);
    await reloadUntil(page, "the task to stop", async () => (await page.locator("dd.state").textContent()) === "failed");
    const attempt = page.locator("ol.attempts li").last();
    assert.equal(await attempt.locator(".error-type").textContent(), "LockLostError");
    assert.match((await attempt.textContent()) ?? "", /lost lock \{diracx\}:lock:mutex:lollygag:zaphod while the task was running/);
    await ctx.close();
  });

  test("a resubmitted dead letter is resolved once its new task succeeds", async () => {
    const id = await taskDB.insertDeadLetter({
      taskId: "dead-sync-1",
      taskName: "lollygag:SyncOwnersTask",
      args: { ownerName: "arthur" },
      labels: { vo: "lhcb" },
      vo: "lhcb",
      firstSubmittedAt: new Date(Date.now() - 3_600_000),
      attempts: 4,
      errors: [{ attempt: 4, at: new Date().toISOString(), type: "OperationalError", message: "LollygagDB was down" }],
    });
    const { ctx, page } = await operator();
    await page.goto("/dashboard/dead-letters/?status=pending");
    const entry = page.locator(`tr[data-dead-letter="${id}"]`);
    await entry.getByRole("button", { name: "Resubmit" }).click();
    await page.waitForSelector(".flash.ok");
    await page.goto(`/dashboard/dead-letters/${id}`);
    await reloadUntil(page, "the dead letter to be resolved", async () => /^resolved/.test((await page.locator("dd.status").textContent()) ?? ""));
    const newTask = await page.locator("dd.status a").textContent();
    assert.ok(newTask);
    await page.locator("dd.status a").click();
    assert.equal(await page.locator("dd.state").textContent(), "completed");
    // Two more, still pending, so the screenshot shows both states.
    for (const [taskName, args, vo, type, message] of [
      ["my_pilots:MyPilotTask", { ceName: "ce.gridpp.example" }, "gridpp", "PilotSubmissionError", "pilot submission to CE ce.gridpp.example failed (success rate 0)"],
      ["lollygag:OwnerReportTask", { vo: "lhcb" }, "lhcb", "TaskTimeoutError", "task lollygag:OwnerReportTask timed out after 600000 ms"],
    ] as const) {
      await taskDB.insertDeadLetter({ taskId: `dead-${taskName}`, taskName, args, labels: { vo }, vo, firstSubmittedAt: new Date(Date.now() - 7_200_000), attempts: 1, errors: [{ attempt: 1, at: new Date().toISOString(), type, message }] });
    }
    await page.goto("/dashboard/dead-letters/");
    await page.screenshot({ path: path.join(SCREENSHOTS, "dashboard-dead-letters.png") });
    await ctx.close();
  });

  test("tasks by type: the outcomes of the last hour, durations and the last failure; the overview charts throughput", async () => {
    const { ctx, page } = await operator();
    await page.goto("/dashboard/tasks/");
    const stats = (task: string) => page.locator(`tr[data-task-type="${task}"]`);
    await reloadUntil(page, "the stats to be written", async () => (await stats("lollygag:SyncOwnersTask").locator("td.completed-1h").textContent()) === "1");
    assert.equal(await stats("dashboard:HoldsOwnerLock").locator("td.failed-1h").textContent(), "1");
    assert.match((await stats("dashboard:HoldsOwnerLock").locator("td.last-failure").textContent()) ?? "", /LockLostError/);
    assert.match((await stats("lollygag:SyncOwnersTask").locator("td.p50").textContent()) ?? "", /^≤ \d/);
    await page.goto("/dashboard/");
    assert.ok(Number(await page.locator('[data-live="throughput.hour"]').textContent()) >= 2);
    assert.ok((await page.locator("svg.chart rect.ok[height]").evaluateAll((rs) => rs.filter((r) => Number(r.getAttribute("height")) > 0).length)) >= 1);
    await page.screenshot({ path: path.join(SCREENSHOTS, "dashboard-overview.png") });
    await ctx.close();
  });
});
