// The operator dashboard, a fastify plugin `serve` (and so `dev`) mounts at /dashboard. Every
// read and action goes through the same code as the CLI and the `tasks` router (ScheduleAdmin,
// LockManager, TaskDB and resubmitDeadLetter, src/ops/tasks.ts, queueStatus) and asks the same
// `tasks` access policy; the dashboard adds only pages, a session cookie and CSRF tokens.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import fs from "node:fs/promises";
import cookie from "@fastify/cookie";
import formbody from "@fastify/formbody";
import helmet from "@fastify/helmet";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { decodeJwt } from "jose";
import { z } from "zod";
import { configuredDbUrl, dbUrlEnvVar } from "../db/sql/base.ts";
import { getEngine } from "../db/sql/engine.ts";
import { DEAD_LETTER_STATUSES, TaskDB, type DeadLetterFilter, type DeadLetterStatus, type JsonValue } from "../db/sql/task-db.ts";
import { parseAge, resubmitDeadLetter, type ResubmitResult } from "../engine/dead-letter.ts";
import { readTaskStats, type TaskStats } from "../engine/task-stats.ts";
import { SIZES } from "../engine/priorities.ts";
import type { Engine } from "../engine/wiring.ts";
import type { AuthorizedUser, TokenVerifier } from "../http/auth.ts";
import { HttpError } from "../http/errors.ts";
import { policyAllows, type AccessPolicy } from "../http/policies/policy.ts";
import { visibleVo, type TasksRequest } from "../http/policies/tasks.ts";
import type { Logger } from "../logging.ts";
import { cancelTask, getTask, listTasks } from "../ops/tasks.ts";
import { ScheduleAdmin } from "../scheduler/admin.ts";
import { defineSettings, type Env } from "../settings.ts";
import type { Html } from "./html.ts";
import { LiveSnapshot, liveValues, takeSnapshot, ageText } from "./live.ts";
import * as views from "./views.ts";

export const DASHBOARD_PATH = "/dashboard";
const SESSION_COOKIE = "diracx_tasks_session";
const PAGE_SIZE = 50;

export class DashboardSettings extends defineSettings(
  "DIRACX_DASHBOARD_",
  z.object({
    /** The path prefix a reverse proxy serves the app under (e.g. `/tasks`); X-Forwarded-Prefix overrides it per request. */
    basePath: z.string().regex(/^(\/[A-Za-z0-9._~-]+)*$/, "a path like /tasks, without a trailing slash").default(""),
    /** Signs session cookies and CSRF tokens; set the same value on every `serve` replica (default: random per process). */
    cookieSecret: z.string().min(32).optional(),
  }),
) {}

export interface DashboardOptions {
  engine: Engine;
  verifier: TokenVerifier;
  /** The `tasks` access policy's implementations, in the order the API asks them. */
  policy: readonly AccessPolicy[];
  env: Env;
  log: Logger;
}

interface Session {
  user: AuthorizedUser;
  csrf: string;
  canWrite: boolean;
}

const PREFIX = /^(\/[A-Za-z0-9._~-]+)*$/;

const assetsDir = new URL("./assets/", import.meta.url);
const ASSETS: Record<string, string> = { "dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8" };

export async function dashboardPlugin(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const { engine, verifier, policy, env, log } = opts;
  const settings = DashboardSettings.fromEnv(env);
  const secret = settings.cookieSecret ?? randomBytes(32).toString("hex");
  const dbUrl = configuredDbUrl(TaskDB.dbName, env);
  const taskDB = dbUrl ? new TaskDB(getEngine(dbUrl)) : undefined;
  const schedules = new ScheduleAdmin(engine.redis);
  const live = new LiveSnapshot(() => takeSnapshot(engine, taskDB), log);
  const streams = new Set<FastifyReply>();

  // Pages are not API: keep them out of the OpenAPI document.
  app.addHook("onRoute", (route) => {
    route.schema = { ...route.schema, hide: true };
  });
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    // HSTS belongs to the TLS-terminating proxy, not to a server that may be reached over plain HTTP in dev.
    strictTransportSecurity: false,
    // "no-referrer" would make Chromium send `Origin: null` on our own form posts, which the origin check refuses.
    referrerPolicy: { policy: "same-origin" },
  });
  await app.register(cookie, { secret });
  await app.register(formbody);

  app.addHook("preClose", async () => {
    live.stop();
    for (const r of streams) r.raw.end();
    await schedules.close();
  });

  const rootOf = (req: FastifyRequest): string => {
    const h = req.headers["x-forwarded-prefix"];
    const fwd = (Array.isArray(h) ? h[0] : h)?.replace(/\/+$/, "");
    return `${fwd !== undefined && PREFIX.test(fwd) ? fwd : settings.basePath}${DASHBOARD_PATH}`;
  };
  const csrfFor = (token: string): string => createHmac("sha256", secret).update(`csrf:${token}`).digest("base64url");
  const ask = (user: AuthorizedUser, request: TasksRequest): Promise<boolean> => policyAllows(policy, user, request);

  async function session(req: FastifyRequest): Promise<Session | undefined> {
    const raw = req.cookies[SESSION_COOKIE];
    if (!raw) return undefined;
    const u = req.unsignCookie(raw);
    if (!u.valid || !u.value) return undefined;
    let user: AuthorizedUser;
    try {
      user = await verifier.verify(`Bearer ${u.value}`);
    } catch {
      return undefined;
    }
    return { user, csrf: csrfFor(u.value), canWrite: await ask(user, { action: "write" }) };
  }

  const ctxOf = (req: FastifyRequest, s: Session | undefined, flash?: views.PageContext["flash"]): views.PageContext => ({
    root: rootOf(req),
    csrf: s?.csrf ?? "",
    flash,
    ...(s ? { user: { name: s.user.preferredUsername || s.user.sub, vo: s.user.vo, group: s.user.diracGroup, canWrite: s.canWrite, allVos: visibleVo(s.user) === undefined } } : {}),
  });
  const flashOf = (req: FastifyRequest): views.PageContext["flash"] => {
    const q = req.query as Record<string, string | undefined>;
    if (q.ok) return { kind: "ok", text: q.ok, task: q.task };
    if (q.error) return { kind: "error", text: q.error };
    return undefined;
  };
  const send = (reply: FastifyReply, page: Html, status = 200): FastifyReply => reply.code(status).header("cache-control", "no-store").type("text/html; charset=utf-8").send(page.value);

  /** A page for readers of the `tasks` policy; everyone else goes to the login page or gets 403. */
  async function reader(req: FastifyRequest, reply: FastifyReply): Promise<Session | undefined> {
    const s = await session(req);
    if (!s) {
      void reply.redirect(`${rootOf(req)}/login`, 303);
      return undefined;
    }
    if (!(await ask(s.user, { action: "read" }))) {
      void send(reply, views.messagePage(ctxOf(req, s), "Forbidden", "Your token's properties do not allow reading the task system."), 403);
      return undefined;
    }
    return s;
  }

  /** An action: a session, a same-origin request with the page's CSRF token, and the policy's write permission for `vo`. */
  async function actor(req: FastifyRequest, vo?: string): Promise<Session> {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== "null") {
      const host = req.headers["x-forwarded-host"] ?? req.headers.host;
      if (new URL(origin).host !== host) throw new HttpError(403, "cross-origin request refused");
    } else if (origin === "null") throw new HttpError(403, "cross-origin request refused");
    const s = await session(req);
    if (!s) throw new HttpError(401, "not logged in");
    const token = (req.body as Record<string, unknown> | undefined)?._csrf ?? req.headers["x-csrf-token"];
    const a = Buffer.from(typeof token === "string" ? token : "");
    const b = Buffer.from(s.csrf);
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new HttpError(403, "missing or wrong CSRF token");
    if (!(await ask(s.user, { action: "write", vo }))) throw new HttpError(403, "Forbidden");
    return s;
  }

  async function audit(s: Session, action: string, target: string, detail: Record<string, JsonValue> = {}): Promise<void> {
    log.info({ sub: s.user.sub, action, target }, "operator action");
    await taskDB?.recordAction({ sub: s.user.sub, username: s.user.preferredUsername, diracGroup: s.user.diracGroup, vo: s.user.vo, action, target, detail });
  }

  const back = (req: FastifyRequest, reply: FastifyReply, path: string, message: { ok?: string; error?: string; task?: string }) => reply.redirect(`${rootOf(req)}${path}${views.queryString(message)}`, 303);

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err instanceof HttpError ? err.status : (err.statusCode ?? 500);
    if (status >= 500) log.error({ err, url: req.url }, "dashboard request failed");
    void send(reply, views.messagePage(ctxOf(req, undefined), status === 403 ? "Forbidden" : "Error", status >= 500 ? "Internal error (see the server log)" : err.message), status);
  });

  app.get("/assets/:file", async (req, reply) => {
    const file = (req.params as { file: string }).file;
    const type = ASSETS[file];
    if (!type) return reply.code(404).send("not found");
    return reply.type(type).header("cache-control", "max-age=300").send(await fs.readFile(new URL(file, assetsDir)));
  });

  app.get("/login", async (req, reply) => send(reply, views.loginPage(ctxOf(req, undefined))));

  app.post("/session", async (req, reply) => {
    const form = (req.body ?? {}) as Record<string, unknown>;
    const header = req.headers.authorization;
    const fromForm = typeof form.token === "string" ? form.token.trim() : undefined;
    const auth = header ?? (fromForm ? `Bearer ${fromForm}` : undefined);
    let user: AuthorizedUser;
    try {
      user = await verifier.verify(auth);
    } catch (err) {
      if (header) throw err;
      return send(reply, views.loginPage(ctxOf(req, undefined), `Login refused: ${err instanceof Error ? err.message : String(err)}`), 401);
    }
    if (!(await ask(user, { action: "read" }))) {
      if (header) throw new HttpError(403, "Forbidden");
      return send(reply, views.loginPage(ctxOf(req, undefined), "Login refused: the token's properties do not allow reading the task system"), 403);
    }
    const exp = decodeJwt(user.bearerToken).exp!;
    void reply.setCookie(SESSION_COOKIE, user.bearerToken, { signed: true, httpOnly: true, secure: true, sameSite: "strict", path: rootOf(req), expires: new Date(exp * 1000) });
    log.info({ sub: user.sub }, "dashboard login");
    return header ? reply.code(204).send() : reply.redirect(`${rootOf(req)}/`, 303);
  });

  app.post("/logout", async (req, reply) => {
    await actor(req).catch(() => undefined);
    void reply.clearCookie(SESSION_COOKIE, { path: rootOf(req), httpOnly: true, secure: true, sameSite: "strict" });
    return reply.redirect(`${rootOf(req)}/login`, 303);
  });

  app.get("/", async (req, reply) => {
    const s = await reader(req, reply);
    if (!s) return reply;
    return send(reply, views.overviewPage(ctxOf(req, s, flashOf(req)), await live.current(), visibleVo(s.user)));
  });

  app.get("/snapshot.json", async (req, reply) => {
    const s = await session(req);
    if (!s || !(await ask(s.user, { action: "read" }))) return reply.code(401).send({ detail: "not logged in" });
    return liveValues(await live.current(), visibleVo(s.user));
  });

  app.get("/events", async (req, reply) => {
    const s = await session(req);
    if (!s || !(await ask(s.user, { action: "read" }))) return reply.code(401).send({ detail: "not logged in" });
    const vo = visibleVo(s.user);
    reply.hijack();
    reply.raw.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive", "x-accel-buffering": "no" });
    reply.raw.write("retry: 2000\n\n");
    streams.add(reply);
    const unsubscribe = live.subscribe((snap) => reply.raw.write(`data: ${JSON.stringify(liveValues(snap, vo))}\n\n`));
    req.raw.on("close", () => {
      unsubscribe();
      streams.delete(reply);
    });
  });

  app.get("/schedules/", async (req, reply) => {
    const s = await reader(req, reply);
    if (!s) return reply;
    const vo = visibleVo(s.user);
    const rows = (await schedules.list()).filter((r) => vo === undefined || r.vo === undefined || r.vo === vo).sort((a, b) => a.id.localeCompare(b.id));
    return send(reply, views.schedulesPage(ctxOf(req, s, flashOf(req)), rows));
  });

  app.post("/schedules/:id/:action", async (req, reply) => {
    const { id, action } = req.params as { id: string; action: string };
    if (!["pause", "resume", "trigger"].includes(action)) throw new HttpError(404, `no schedule action '${action}'`);
    const rec = (await schedules.list()).find((r) => r.id === id);
    if (!rec) throw new HttpError(404, `unknown schedule '${id}'`);
    const s = await actor(req, rec.vo);
    if (action === "pause") await schedules.pause(id);
    else if (action === "resume") await schedules.resume(id);
    const taskId = action === "trigger" ? await schedules.trigger(id) : undefined;
    await audit(s, `schedule.${action}`, id, taskId ? { taskId } : {});
    return back(req, reply, "/schedules/", taskId ? { ok: `${id}: submitted task`, task: taskId } : { ok: `${id}: ${action}d` });
  });

  function deadLetterQuery(req: FastifyRequest, s: Session): { q: views.DeadLetterQuery; filter: DeadLetterFilter } {
    const raw = req.query as Record<string, string | undefined>;
    const q: views.DeadLetterQuery = { page: Math.max(1, Number.parseInt(raw.page ?? "1", 10) || 1) };
    const filter: DeadLetterFilter = {};
    for (const k of ["task", "vo", "status", "age", "args"] as const) if (raw[k]) q[k] = raw[k]!.trim();
    if (q.task) filter.taskName = q.task;
    const only = visibleVo(s.user);
    if (only !== undefined) filter.vo = only;
    else if (q.vo) filter.vo = q.vo;
    if (q.status) {
      if (!(DEAD_LETTER_STATUSES as readonly string[]).includes(q.status)) throw new HttpError(400, `status: unknown dead-letter status '${q.status}' (known: ${DEAD_LETTER_STATUSES.join(", ")})`);
      filter.status = q.status as DeadLetterStatus;
    }
    if (q.age) {
      try {
        filter.olderThan = new Date(Date.now() - parseAge(q.age));
      } catch (err) {
        throw new HttpError(400, `age: ${(err as Error).message}`);
      }
    }
    if (q.args) {
      try {
        filter.argsContain = JSON.parse(q.args) as JsonValue;
      } catch {
        throw new HttpError(400, `args: not JSON: ${q.args}`);
      }
    }
    return { q, filter };
  }

  const needTaskDB = (): TaskDB => {
    if (!taskDB) throw new HttpError(503, `no TaskDB: ${dbUrlEnvVar(TaskDB.dbName)} is not set`);
    return taskDB;
  };

  app.get("/dead-letters/", async (req, reply) => {
    const s = await reader(req, reply);
    if (!s) return reply;
    const db = needTaskDB();
    const { q, filter } = deadLetterQuery(req, s);
    const [rows, total] = await Promise.all([db.list(filter, { limit: PAGE_SIZE, offset: (q.page - 1) * PAGE_SIZE }), db.count(filter)]);
    return send(reply, views.deadLettersPage(ctxOf(req, s, flashOf(req)), q, rows, total, PAGE_SIZE, DEAD_LETTER_STATUSES));
  });

  app.get("/dead-letters/:id", async (req, reply) => {
    const s = await reader(req, reply);
    if (!s) return reply;
    const e = await needTaskDB().get(Number((req.params as { id: string }).id));
    const vo = visibleVo(s.user);
    if (!e || (vo !== undefined && e.vo !== vo)) throw new HttpError(404, "no such dead letter");
    return send(reply, views.deadLetterPage(ctxOf(req, s, flashOf(req)), e));
  });

  const idsOf = (body: Record<string, unknown>): number[] => {
    const raw = body.id;
    const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
    return list.map((v) => {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n <= 0) throw new HttpError(400, `id: not a dead-letter id: ${String(v)}`);
      return n;
    });
  };

  app.post("/dead-letters/resubmit", async (req, reply) => {
    const db = needTaskDB();
    const body = (req.body ?? {}) as Record<string, unknown>;
    const s = await actor(req);
    let entries;
    if (body.all === "filter") {
      const { filter } = deadLetterQuery({ query: body } as unknown as FastifyRequest, s);
      entries = await db.list({ ...filter, status: "pending" }, { limit: 10_000 });
    } else {
      const ids = idsOf(body);
      if (!ids.length) return back(req, reply, "/dead-letters/", { error: "nothing selected" });
      entries = (await Promise.all(ids.map((id) => db.get(id)))).filter((e) => e !== undefined);
    }
    const results: ResubmitResult[] = [];
    for (const e of entries) {
      if (!(await ask(s.user, { action: "write", vo: e.vo ?? undefined }))) throw new HttpError(403, "Forbidden");
      results.push(await resubmitDeadLetter(db, engine.producer, e));
    }
    const ok = results.filter((r) => r.ok);
    await audit(s, "dead-letter.resubmit", results.map((r) => r.id).join(","), { resubmitted: ok.map((r) => `${r.id}:${r.taskId}`) });
    const failed = results.filter((r) => !r.ok).map((r) => (r.ok ? "" : r.reason));
    return back(req, reply, "/dead-letters/", failed.length ? { error: `${ok.length} resubmitted; ${failed.join("; ")}` } : { ok: `${ok.length} resubmitted` });
  });

  app.post("/dead-letters/discard", async (req, reply) => {
    const db = needTaskDB();
    const ids = idsOf((req.body ?? {}) as Record<string, unknown>);
    const s = await actor(req);
    let n = 0;
    for (const id of ids) {
      const e = await db.get(id);
      if (!e) continue;
      if (!(await ask(s.user, { action: "write", vo: e.vo ?? undefined }))) throw new HttpError(403, "Forbidden");
      if (await db.markDiscarded(id)) n++;
    }
    await audit(s, "dead-letter.discard", ids.join(","));
    return back(req, reply, "/dead-letters/", { ok: `${n} discarded` });
  });

  app.get("/locks/", async (req, reply) => {
    const s = await reader(req, reply);
    if (!s) return reply;
    const object = ((req.query as { object?: string }).object ?? "").trim();
    return send(reply, views.locksPage(ctxOf(req, s, flashOf(req)), await engine.lockManager.list(object || undefined), object));
  });

  app.post("/locks/release", async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const s = await actor(req);
    if (typeof body.key !== "string" || !body.key) throw new HttpError(400, "key: missing");
    if (body.confirm !== "yes") throw new HttpError(400, "confirm: a force-release must be confirmed (confirm=yes)");
    const released = await engine.lockManager.forceRelease(body.key);
    await audit(s, "lock.release", body.key, { released });
    return back(req, reply, "/locks/", released ? { ok: `released ${body.key}` } : { error: `${body.key} was not held` });
  });

  const taskOps = { producer: engine.producer, lockManager: engine.lockManager };

  app.get("/tasks/", async (req, reply) => {
    const s = await reader(req, reply);
    if (!s) return reply;
    const stats = await readTaskStats(engine.redis);
    const vo = visibleVo(s.user);
    // Counts are per task type over every VO; a failure's message and task only go to those who may see its VO.
    const mine = (st: TaskStats | undefined): TaskStats | undefined => {
      if (!st?.lastFailure || vo === undefined || st.lastFailure.vo === undefined || st.lastFailure.vo === vo) return st;
      const { lastFailure: _hidden, ...rest } = st;
      return rest;
    };
    const rows = engine.tasks.entries().map(([id, cls]) => ({
      id,
      stats: mine(stats.get(id)),
      size: cls.size,
      priority: cls.priority,
      retry: cls.retryPolicy.describe(),
      dlqEligible: cls.dlqEligible,
      schedule: (cls as { defaultSchedule?: unknown }).defaultSchedule ? JSON.stringify((cls as { defaultSchedule?: unknown }).defaultSchedule) : "-",
      fields: Object.entries(cls.args.shape).map(([name, t]) => ({ name, type: (t as z.ZodType).def.type, required: !(t as z.ZodType).safeParse(undefined).success })),
    }));
    return send(reply, views.tasksPage(ctxOf(req, s, flashOf(req)), rows.sort((a, b) => a.id.localeCompare(b.id)), ""));
  });

  app.get("/tasks/lookup", async (req, reply) => reply.redirect(`${rootOf(req)}/tasks/${encodeURIComponent(((req.query as { id?: string }).id ?? "").trim())}`, 303));

  app.post("/tasks/submit", async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const task = String(body.task ?? "");
    if (!engine.tasks.has(task)) throw new HttpError(400, `task: unknown task '${task}'`);
    const cls = engine.tasks.get(task);
    const args: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(body)) {
      if (!k.startsWith("arg.") || v === "") continue;
      const name = k.slice(4);
      const t = cls.args.shape[name] as z.ZodType | undefined;
      // Form fields are text: numbers and JSON values are read as JSON when the schema wants them.
      args[name] = t && t.def.type !== "string" && typeof v === "string" ? safeJson(v) : v;
    }
    const s = await actor(req, typeof args.vo === "string" ? args.vo : undefined);
    let taskId: string;
    try {
      taskId = await engine.producer.submit(task, args);
    } catch (err) {
      return back(req, reply, "/tasks/", { error: `${task}: ${err instanceof Error ? err.message : String(err)}` });
    }
    await audit(s, "task.submit", task, { taskId, args: args as JsonValue });
    return reply.redirect(`${rootOf(req)}/tasks/${encodeURIComponent(taskId)}${views.queryString({ ok: `submitted ${task} as ${taskId}` })}`, 303);
  });

  app.get("/tasks/:id", async (req, reply) => {
    const s = await reader(req, reply);
    if (!s) return reply;
    const t = await getTask(taskOps, (req.params as { id: string }).id);
    const vo = visibleVo(s.user);
    if (!t || (vo !== undefined && t.labels.vo !== undefined && t.labels.vo !== vo)) throw new HttpError(404, "no such task (finished tasks leave Redis after the retention period)");
    const canCancel = (t.state === "waiting" || t.state === "delayed") && (await ask(s.user, { action: "write", vo: t.labels.vo }));
    return send(reply, views.taskPage(ctxOf(req, s, flashOf(req)), t, canCancel));
  });

  app.post("/tasks/:id/cancel", async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const t = await getTask(taskOps, id);
    if (!t) throw new HttpError(404, `no task ${id}`);
    const s = await actor(req, t.labels.vo);
    const r = await cancelTask(taskOps, id);
    await audit(s, "task.cancel", id, { ok: r.ok });
    return back(req, reply, `/tasks/${encodeURIComponent(id)}`, r.ok ? { ok: `cancelled ${id}` } : { error: r.reason });
  });

  app.get("/workers/", async (req, reply) => {
    const s = await reader(req, reply);
    if (!s) return reply;
    const rows: views.WorkerRow[] = [];
    for (const size of SIZES) {
      for (const w of await engine.producer.queue(size).getWorkers()) rows.push({ size, name: String(w.name ?? "-"), addr: String(w.addr ?? "-"), age: ageText(Number(w.age ?? 0) * 1000) });
    }
    const running = (await listTasks(taskOps, { state: "active", limit: 200 })).tasks.filter((t) => visibleVo(s.user) === undefined || t.labels.vo === undefined || t.labels.vo === visibleVo(s.user));
    return send(reply, views.workersPage(ctxOf(req, s), rows, running.map((t) => ({ taskId: t.taskId, task: t.task, size: t.size }))));
  });

  app.get("/audit/", async (req, reply) => {
    const s = await reader(req, reply);
    if (!s) return reply;
    const vo = visibleVo(s.user);
    return send(reply, views.auditPage(ctxOf(req, s), taskDB ? await taskDB.listActions(vo === undefined ? {} : { vo }) : undefined));
  });

  // `/dashboard/schedules` and friends without the trailing slash.
  for (const p of ["schedules", "dead-letters", "locks", "tasks", "workers", "audit"]) app.get(`/${p}`, async (req, reply) => reply.redirect(`${rootOf(req)}/${p}/${req.url.includes("?") ? req.url.slice(req.url.indexOf("?")) : ""}`, 301));
}

function safeJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}
