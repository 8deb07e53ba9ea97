// The dashboard in headless Chromium (Debian's package, driven by playwright-core) against a
// real `serve` app listening on a port, real Redis and PGlite, with the gubbins extension.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { getEngine } from "../../src/db/sql/engine.ts";
import { TaskDB } from "../../src/db/sql/task-db.ts";
import { validateArgs } from "../../src/engine/producer.ts";
import { startHttpServer, type HttpServer } from "../../src/http/server.ts";
import { dashboardLoginLink, demoOperatorClaims } from "../../src/dashboard/login-link.ts";
import { GUBBINS_ROOT, setupHttpEnv, users, type HttpEnv } from "../http/support.ts";
import { launchChromium, loginPage, sameOriginContext, skipWithoutChromium } from "./support.ts";

// The README's screenshots are taken by live-system.test.ts, on a system with workers running.
describe("dashboard in a browser", { skip: skipWithoutChromium }, () => {
  let he: HttpEnv;
  let server: HttpServer;
  let browser: Browser;
  let taskDB: TaskDB;
  const foreign: string[] = [];

  before(async () => {
    he = await setupHttpEnv({ appRoot: GUBBINS_ROOT });
    server = await startHttpServer(he.engine, { env: he.env, port: 0 });
    taskDB = new TaskDB(getEngine(he.dbUrl));
    const now = Date.now();
    // A registered task whose schema takes these arguments, so a resubmission is accepted by the producer.
    // A task whose arguments are a VO, so a resubmission passes the producer's strict validation.
    const takesVo = (id: string, c: Parameters<typeof validateArgs>[1]): boolean => {
      try {
        validateArgs(id, c, { vo: "lhcb" });
        return true;
      } catch {
        return false;
      }
    };
    const taskName = he.engine.tasks.entries().find(([id, c]) => takesVo(id, c))![0];
    for (const [vo, n] of [["lhcb", 3], ["gridpp", 2]] as const) {
      for (let i = 0; i < n; i++) {
        await taskDB.insertDeadLetter({
          taskId: `dead-${vo}-${i}`,
          taskName,
          args: { vo },
          labels: { vo },
          vo,
          firstSubmittedAt: new Date(now - 3_600_000),
          attempts: 3,
          errors: [{ attempt: 3, at: new Date(now).toISOString(), type: "RuntimeError", message: `broken ${vo} ${i}`, }],
        });
      }
    }
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await he?.close();
    assert.deepEqual(foreign, [], "no request leaves for another origin");
  });

  const context = (base = server.url): Promise<BrowserContext> => sameOriginContext(browser, base, foreign);
  const login = (ctx: BrowserContext, claims: (typeof users)[keyof typeof users], prefix = ""): Promise<Page> => loginPage(ctx, he.token, claims, prefix);

  test("login sets an HttpOnly, Secure, SameSite=Strict cookie; logout clears it", async () => {
    const ctx = await context();
    const page = await login(ctx, users.serviceAdmin);
    assert.equal(await page.locator("h1").textContent(), "Overview");
    const [c] = await ctx.cookies();
    assert.ok(c);
    assert.equal(c.httpOnly, true);
    assert.equal(c.secure, true);
    assert.equal(c.sameSite, "Strict");
    assert.ok(c.expires > Date.now() / 1000 && c.expires <= Date.now() / 1000 + 20 * 60 + 5, "expires with the token");
    await page.click("form[action$='/logout'] button");
    await page.waitForURL(/\/dashboard\/login$/);
    assert.deepEqual(await ctx.cookies(), []);
    await page.goto("/dashboard/schedules/");
    assert.match(page.url(), /\/login$/);
    await ctx.close();
  });

  test("dev's login link logs the demo operator in; the token never goes into a URL the server sees", async () => {
    const ctx = await context();
    const seen: string[] = [];
    ctx.on("request", (r) => seen.push(r.url()));
    const token = await he.token(demoOperatorClaims);
    const page = await ctx.newPage();
    await page.goto(dashboardLoginLink(server.url, token));
    await page.waitForURL(/\/dashboard\/$/);
    assert.equal(await page.locator("h1").textContent(), "Overview");
    assert.match((await page.locator(".who").textContent()) ?? "", /^bob \(lhcb_admin, all VOs\)$/);
    assert.deepEqual(seen.filter((u) => u.includes(token.slice(0, 40))), [], "no request URL carries the token");
    assert.equal(await page.evaluate("history.length"), 2, "the link (with its token) is replaced in history");
    await ctx.close();
  });

  test("a viewer sees no action controls and a forged action gets 403", async () => {
    const ctx = await context();
    const page = await login(ctx, users.admin); // JobAdministrator: read only
    await page.goto("/dashboard/dead-letters/");
    assert.ok((await page.locator("tr[data-dead-letter]").count()) > 0);
    assert.equal(await page.locator("form.action").count(), 0);
    assert.equal(await page.getByRole("button", { name: "Resubmit" }).count(), 0);
    const forged = await page.evaluate(async () => {
      const r = await fetch("/dashboard/dead-letters/discard", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "id=1&_csrf=forged" });
      return r.status;
    });
    assert.equal(forged, 403);
    assert.equal((await taskDB.get(1))?.status, "pending");
    await ctx.close();
  });

  test("an lhcb operator does not see gridpp's dead letters; resubmitting one links the new task", async () => {
    const ctx = await context();
    const page = await login(ctx, users.operator);
    await page.goto("/dashboard/dead-letters/");
    const vos = await page.locator("tr[data-dead-letter] td:nth-child(4)").allTextContents();
    assert.deepEqual([...new Set(vos)], ["lhcb"]);
    assert.equal(await page.locator(".total").textContent(), "3");
    const row = page.locator("tr[data-dead-letter]").first();
    const id = Number(await row.getAttribute("data-dead-letter"));
    await row.getByRole("button", { name: "Resubmit" }).click();
    await page.waitForSelector(".flash", { timeout: 5000 }).catch(async () => assert.fail(`no flash: ${page.url()} ${await page.locator("main").textContent()}`));
    assert.equal(await page.locator(".flash").getAttribute("class"), "flash ok", (await page.locator(".flash").textContent()) ?? "");
    const status = page.locator(`tr[data-dead-letter="${id}"] td.status`);
    assert.match((await status.textContent()) ?? "", /^resubmitted as /);
    const entry = await taskDB.get(id);
    assert.equal(await status.locator("a").textContent(), entry?.resubmittedTaskId);
    const gridpp = (await taskDB.list({ vo: "gridpp" }))[0]!;
    await page.goto(`/dashboard/dead-letters/${gridpp.id}`);
    assert.equal(await page.locator("h1").textContent(), "Error");
    await page.goto("/dashboard/audit/");
    assert.match((await page.locator("table").textContent()) ?? "", /dead-letter\.resubmit/);
    await ctx.close();
  });

  test("counters update without reload", async () => {
    const ctx = await context();
    const page = await login(ctx, users.serviceAdmin);
    const cls = he.engine.tasks.entries().find(([, c]) => c.size === "small" && c.priority === "realtime") ?? he.engine.tasks.entries()[0]!;
    const key = `${cls[1].size}.${cls[1].priority}`;
    const cell = page.locator(`td[data-live="${key}"]`);
    const before = Number(await cell.textContent());
    const q = he.engine.producer.queue(cls[1].size);
    await q.add("probe", { probe: true }, { priority: cls[1].priority === "realtime" ? undefined : cls[1].priority === "normal" ? 1 : 2 } as never);
    type Doc = { document: { querySelector(s: string): { textContent: string } | null } };
    await page.waitForFunction(([sel, n]) => Number((globalThis as unknown as Doc).document.querySelector(sel)?.textContent) > n, [`td[data-live="${key}"]`, before] as [string, number]);
    assert.equal(await page.evaluate("document.documentElement.dataset.live"), "sse");
    await ctx.close();
  });

  test("a cross-origin POST is refused", async () => {
    const ctx = await context();
    const page = await login(ctx, users.serviceAdmin);
    const evil = http.createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(`<form id="f" method="post" action="${server.url}/dashboard/locks/release"><input name="key" value="x"><input name="confirm" value="yes"></form><script>document.getElementById("f").submit()</script>`);
    });
    await new Promise<void>((r) => evil.listen(0, "127.0.0.1", r));
    const evilUrl = `http://localhost:${(evil.address() as { port: number }).port}/`;
    await ctx.unroute("**/*");
    const res = page.waitForResponse((r) => r.url().endsWith("/dashboard/locks/release"));
    await page.goto(evilUrl);
    const status = (await res).status();
    assert.ok(status === 401 || status === 403, `refused (got ${status})`);
    evil.close();
    await ctx.close();
  });

  test("under a path prefix every link and asset resolves", async () => {
    const target = new URL(server.url);
    const proxy = http.createServer((req, res) => {
      if (!req.url?.startsWith("/tasks/")) {
        res.statusCode = 404;
        return res.end();
      }
      const up = http.request({ host: target.hostname, port: target.port, path: req.url.slice("/tasks".length), method: req.method, headers: { ...req.headers, "x-forwarded-prefix": "/tasks" } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    const ctx = await context(base);
    const bad: string[] = [];
    ctx.on("response", (r) => {
      if (r.status() >= 400) bad.push(`${r.status()} ${r.url()}`);
    });
    const page = await login(ctx, users.serviceAdmin, "/tasks");
    const links = await page.locator("a[href]").evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href));
    const assets = await page.locator("link[href], script[src]").evaluateAll((es) => es.map((e) => (e as unknown as { href?: string }).href || (e as unknown as { src: string }).src));
    for (const u of [...new Set([...links, ...assets])]) {
      assert.ok(u.startsWith(`${base}/tasks/dashboard`), `${u} stays under the prefix`);
      const r = await page.request.get(u);
      assert.equal(r.status(), 200, u);
    }
    assert.deepEqual(bad, []);
    await page.goto("/tasks/dashboard/schedules/");
    await ctx.close();
    proxy.close();
  });
});
