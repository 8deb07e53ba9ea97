// The operator API (`/api/tasks`), shared with the CLI's logic: status, registered tasks, one
// task's detail, submission by id, schedules, locks and dead letters. Reading needs
// ServiceAdministrator, Operator or JobAdministrator, changing needs ServiceAdministrator or
// Operator, and only a ServiceAdministrator sees other VOs (TasksAccessPolicy).
import { z } from "zod";
import { getEngine } from "../../db/sql/engine.ts";
import { TaskDB, DEAD_LETTER_STATUSES } from "../../db/sql/task-db.ts";
import { resubmitDeadLetter, deadLetterSummary } from "../../engine/dead-letter.ts";
import { SIZES } from "../../engine/priorities.ts";
import { ScheduleAdmin } from "../../scheduler/admin.ts";
import { getTask, listTasks, cancelTask, LISTABLE_STATES } from "../../ops/tasks.ts";
import { queueStatuses } from "../../ops/queue-status.ts";
import type { Engine } from "../../engine/wiring.ts";
import { HttpError } from "../errors.ts";
import { TASKS_POLICY, visibleVo } from "../policies/tasks.ts";
import { defineRouter, route, type RouteContext } from "../router.ts";
import type { AuthorizedUser } from "../auth.ts";

const read = { action: "read" } as const;
const write = { action: "write" } as const;

/**
 * A dead letter by id, once the route's policy allows `access` on its VO. The policy is asked
 * before the 404, so a caller who may not see the entry learns nothing from its absence.
 */
async function permittedDeadLetter(
  ctx: Pick<RouteContext<{ taskDB: typeof TaskDB }>, "deps" | "checkPermissions">,
  id: number,
  access: typeof read | typeof write,
): Promise<NonNullable<Awaited<ReturnType<TaskDB["get"]>>>> {
  const entry = await ctx.deps.taskDB.get(id);
  await ctx.checkPermissions({ ...access, vo: entry?.labels.vo as string | undefined });
  if (!entry) throw new HttpError(404, `no dead letter ${id}`);
  return entry;
}

const admins = new WeakMap<Engine, ScheduleAdmin>();
function scheduleAdmin(engine: Engine): ScheduleAdmin {
  let a = admins.get(engine);
  if (!a) admins.set(engine, (a = new ScheduleAdmin(engine.redis)));
  return a;
}

/** Whether `user` may see an object labelled with `vo` (objects without a VO are visible to every reader). */
function sees(user: AuthorizedUser | undefined, vo: unknown): boolean {
  const only = user ? visibleVo(user) : undefined;
  return only === undefined || vo === undefined || vo === only;
}

async function scheduleVo(engine: Engine, id: string): Promise<string | undefined> {
  const s = (await scheduleAdmin(engine).list()).find((x) => x.id === id);
  if (!s) throw new HttpError(404, `unknown schedule '${id}'`);
  return s.vo;
}

const IdParam = z.object({ id: z.string().min(1) });
const DlqParam = z.object({ id: z.coerce.number().int().positive() });

export const router = defineRouter({}, [
  route({
    method: "GET",
    path: "/status",
    name: "status",
    summary: "Queue depth per size × priority, delayed, running, workers online, dead letters.",
    policy: TASKS_POLICY,
    async handler(_r, ctx) {
      await ctx.checkPermissions(read);
      const url = ctx.engine.taskDbUrl; // the server's engine on it stays open (closed at shutdown)
      const dl = await deadLetterSummary(ctx.engine.redis, url ? new TaskDB(getEngine(url)) : undefined);
      return { queues: await queueStatuses(ctx.engine.producer), deadLetters: { pending: dl.pending ?? null, outbox: dl.outbox } };
    },
  }),
  route({
    method: "GET",
    path: "/registered",
    name: "registered_tasks",
    summary: "Every registered task: id, size, priority, dead-letter eligibility.",
    policy: TASKS_POLICY,
    async handler(_r, ctx) {
      await ctx.checkPermissions(read);
      return ctx.engine.tasks.entries().map(([id, cls]) => {
        const c = cls as unknown as { priority?: string; size?: string; dlqEligible?: boolean };
        return { id, priority: c.priority ?? "normal", size: c.size ?? "medium", dlqEligible: !!c.dlqEligible };
      });
    },
  }),
  route({
    method: "GET",
    path: "/list",
    name: "list_tasks",
    summary: "Tasks in one state (waiting, delayed, active, failed, completed), newest first.",
    policy: TASKS_POLICY,
    query: z.object({ state: z.enum(LISTABLE_STATES).default("waiting"), task: z.string().optional(), size: z.enum(SIZES).optional(), limit: z.coerce.number().int().positive().max(1000).default(50) }),
    async handler({ query }, ctx) {
      await ctx.checkPermissions(read);
      const page = await listTasks({ producer: ctx.engine.producer }, { state: query.state, limit: query.limit, ...(query.task ? { task: query.task } : {}), ...(query.size ? { size: query.size } : {}) });
      return { ...page, tasks: page.tasks.filter((t) => sees(ctx.user, t.labels.vo)) };
    },
  }),
  route({
    method: "GET",
    path: "/task/:id",
    name: "get_task",
    summary: "One task: args, labels, attempts and their errors, parent, children, locks held.",
    policy: TASKS_POLICY,
    params: IdParam,
    async handler({ params }, ctx) {
      const view = await getTask({ producer: ctx.engine.producer, lockManager: ctx.engine.lockManager }, params.id);
      await ctx.checkPermissions({ ...read, vo: view?.labels.vo });
      if (!view) throw new HttpError(404, `no task '${params.id}' (unknown, or its retention has passed)`);
      return view;
    },
  }),
  route({
    method: "POST",
    path: "/task/:id/cancel",
    name: "cancel_task",
    summary: "Cancel a waiting or delayed task.",
    policy: TASKS_POLICY,
    params: IdParam,
    async handler({ params }, ctx) {
      const view = await getTask({ producer: ctx.engine.producer }, params.id);
      await ctx.checkPermissions({ ...write, vo: view?.labels.vo });
      return cancelTask({ producer: ctx.engine.producer }, params.id);
    },
  }),
  route({
    method: "POST",
    path: "/submit",
    name: "submit_task",
    summary: "Submit a registered task by id; its args are validated against the task's schema (400 naming the field).",
    policy: TASKS_POLICY,
    body: z.object({ task: z.string().min(1), args: z.record(z.string(), z.unknown()).default({}), delaySeconds: z.number().nonnegative().optional(), labels: z.record(z.string(), z.string()).default({}) }),
    status: 201,
    async handler({ body }, ctx) {
      const vo = body.labels.vo ?? (body.args.vo as string | undefined);
      await ctx.checkPermissions({ ...write, vo });
      const taskId = await ctx.engine.producer.submit(body.task, body.args, { labels: body.labels, ...(body.delaySeconds ? { delay: body.delaySeconds * 1000 } : {}) });
      return { taskId };
    },
  }),
  route({
    method: "GET",
    path: "/schedules",
    name: "list_schedules",
    summary: "Schedules with next run, last run, last outcome and paused flag.",
    policy: TASKS_POLICY,
    async handler(_r, ctx) {
      await ctx.checkPermissions(read);
      return (await scheduleAdmin(ctx.engine).list()).filter((s) => sees(ctx.user, s.vo));
    },
  }),
  ...(["pause", "resume", "trigger"] as const).map((op) =>
    route({
      method: "POST",
      path: `/schedules/:id/${op}`,
      name: `${op}_schedule`,
      policy: TASKS_POLICY,
      params: IdParam,
      async handler({ params }, ctx) {
        await ctx.checkPermissions({ ...write, vo: await scheduleVo(ctx.engine, params.id) });
        const admin = scheduleAdmin(ctx.engine);
        if (op === "trigger") return { taskId: await admin.trigger(params.id) };
        await admin[op](params.id);
        return { id: params.id, paused: op === "pause" };
      },
    }),
  ),
  route({
    method: "GET",
    path: "/locks",
    name: "list_locks",
    summary: "Locks and limiters with their holders (optionally a Redis key pattern).",
    policy: TASKS_POLICY,
    query: z.object({ pattern: z.string().optional() }),
    async handler({ query }, ctx) {
      await ctx.checkPermissions(read);
      return ctx.engine.lockManager.list(query.pattern);
    },
  }),
  route({
    method: "DELETE",
    path: "/locks",
    name: "release_lock",
    summary: "Force-release one lock by its Redis key; its holder is told when it next renews.",
    policy: TASKS_POLICY,
    query: z.object({ key: z.string().min(1) }),
    async handler({ query }, ctx) {
      await ctx.checkPermissions(write);
      if (!(await ctx.engine.lockManager.forceRelease(query.key))) throw new HttpError(404, `no lock '${query.key}'`);
      return { released: query.key };
    },
  }),
  route({
    method: "GET",
    path: "/dead-letters",
    name: "list_dead_letters",
    summary: "Dead letters (TaskDB), newest first.",
    policy: TASKS_POLICY,
    dependencies: { taskDB: TaskDB },
    query: z.object({ status: z.enum(DEAD_LETTER_STATUSES).optional(), task: z.string().optional(), limit: z.coerce.number().int().positive().max(1000).default(100), offset: z.coerce.number().int().nonnegative().default(0) }),
    async handler({ query }, ctx) {
      await ctx.checkPermissions(read);
      const vo = ctx.user ? visibleVo(ctx.user) : undefined;
      return ctx.deps.taskDB.list({ ...(query.status ? { status: query.status } : {}), ...(query.task ? { taskName: query.task } : {}), ...(vo ? { vo } : {}) }, { limit: query.limit, offset: query.offset });
    },
  }),
  route({
    method: "GET",
    path: "/dead-letters/:id",
    name: "get_dead_letter",
    policy: TASKS_POLICY,
    dependencies: { taskDB: TaskDB },
    params: DlqParam,
    async handler({ params }, ctx) {
      const entry = await permittedDeadLetter(ctx, params.id, read);
      return entry;
    },
  }),
  route({
    method: "POST",
    path: "/dead-letters/:id/resubmit",
    name: "resubmit_dead_letter",
    summary: "Resubmit a pending dead letter under a new task id (resolved when that task succeeds).",
    policy: TASKS_POLICY,
    dependencies: { taskDB: TaskDB },
    params: DlqParam,
    async handler({ params }, ctx) {
      const entry = await permittedDeadLetter(ctx, params.id, write);
      const res = await resubmitDeadLetter(ctx.deps.taskDB, ctx.engine.producer, entry);
      if (!res.ok) throw new HttpError(409, res.reason);
      return res;
    },
  }),
  route({
    method: "POST",
    path: "/dead-letters/:id/discard",
    name: "discard_dead_letter",
    policy: TASKS_POLICY,
    dependencies: { taskDB: TaskDB },
    params: DlqParam,
    async handler({ params }, ctx) {
      const entry = await permittedDeadLetter(ctx, params.id, write);
      if (!(await ctx.deps.taskDB.markDiscarded(params.id))) throw new HttpError(409, `dead letter ${params.id} is ${entry.status}: it cannot be discarded`);
      return { id: params.id, status: "discarded" };
    },
  }),
]);
