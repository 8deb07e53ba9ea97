// The dashboard's pages, as template functions of plain data. Links are absolute under `root`
// (the reverse proxy's prefix + /dashboard), so every page works at any depth and behind a proxy.
import { PRIORITIES } from "../engine/priorities.ts";
import type { DeadLetter, OperatorAction } from "../db/sql/task-db.ts";
import type { LockInfo } from "../locks/manager.ts";
import type { TaskView } from "../ops/tasks.ts";
import type { ScheduleStatus } from "../scheduler/admin.ts";
import type { TaskStats } from "../engine/task-stats.ts";
import { html, type Html, type Interpolation } from "./html.ts";
import { ageText, liveValues, THROUGHPUT_MINUTES, type Snapshot } from "./live.ts";

export interface PageContext {
  root: string;
  /** Absent on the login page. */
  user?: { name: string; vo: string; group: string; canWrite: boolean; allVos: boolean };
  csrf: string;
  /** A message after an action; `task` links the task it submitted. */
  flash?: { kind: "ok" | "error"; text: string; task?: string | undefined } | undefined;
}

const NAV: [string, string][] = [
  ["", "Overview"],
  ["/tasks", "Tasks"],
  ["/schedules", "Schedules"],
  ["/dead-letters", "Dead letters"],
  ["/locks", "Locks"],
  ["/workers", "Workers"],
  ["/audit", "Audit"],
];

export function layout(ctx: PageContext, title: string, active: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="dashboard-root" content="${ctx.root}">
<title>${title} · diracx-tasks</title>
<link rel="stylesheet" href="${ctx.root}/assets/dashboard.css"><script src="${ctx.root}/assets/dashboard.js" defer></script></head>
<body><header><a class="brand" href="${ctx.root}/">diracx-tasks</a>
${ctx.user ? html`<nav>${NAV.map(([p, n]) => html`<a href="${ctx.root}${p}/"${p === active ? html` class="active"` : ""}>${n}</a>`)}</nav>
<span class="who">${ctx.user.name} (${ctx.user.group}${ctx.user.allVos ? ", all VOs" : `, VO ${ctx.user.vo}`}${ctx.user.canWrite ? "" : ", read-only"})</span>
<form method="post" action="${ctx.root}/logout" class="inline"><input type="hidden" name="_csrf" value="${ctx.csrf}"><button>Log out</button></form>` : ""}
</header>
${ctx.flash ? html`<p class="flash ${ctx.flash.kind}" role="status">${ctx.flash.text}${ctx.flash.task ? html` <a href="${ctx.root}/tasks/${encodeURIComponent(ctx.flash.task)}">${ctx.flash.task}</a>` : ""}</p>` : ""}
<main><h1>${title}</h1>${body}</main></body></html>`;
}

export function loginPage(ctx: PageContext, error?: string): Html {
  return layout(
    ctx,
    "Log in",
    "",
    html`${error ? html`<p class="flash error">${error}</p>` : ""}
<p>Paste a DiracX access token (for example from <code>dirac login</code>); it is kept in an HttpOnly cookie until it expires.</p>
<form method="post" action="${ctx.root}/session"><textarea name="token" rows="6" cols="80" required aria-label="access token"></textarea><br><button>Log in</button></form>`,
  );
}

function csrf(ctx: PageContext): Html {
  return html`<input type="hidden" name="_csrf" value="${ctx.csrf}">`;
}

/** A form that posts one action; nothing at all for viewers. */
function action(ctx: PageContext, path: string, label: string, fields: Record<string, string> = {}, confirm?: string): Html {
  if (!ctx.user?.canWrite) return html``;
  return html`<form method="post" action="${ctx.root}${path}" class="inline action"${confirm ? html` data-confirm="${confirm}"` : ""}>${csrf(ctx)}${Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}<button>${label}</button></form>`;
}

function chart(values: readonly number[], failed: readonly number[]): Html {
  const w = 600;
  const h = 120;
  const max = Math.max(1, ...values.map((v, i) => v + (failed[i] ?? 0)));
  const bw = w / THROUGHPUT_MINUTES;
  const bars = values.map((v, i) => {
    const ch = (v / max) * (h - 10);
    const fh = ((failed[i] ?? 0) / max) * (h - 10);
    return html`<rect class="ok" x="${(i * bw).toFixed(1)}" y="${(h - ch).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${ch.toFixed(1)}"><title>${THROUGHPUT_MINUTES - i} min ago: ${v} completed, ${failed[i] ?? 0} failed</title></rect><rect class="bad" x="${(i * bw).toFixed(1)}" y="${(h - ch - fh).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${fh.toFixed(1)}"></rect>`;
  });
  return html`<svg class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="tasks finished per minute over the last hour">${bars}<text x="2" y="12">max ${max}/min</text></svg>`;
}

export function overviewPage(ctx: PageContext, s: Snapshot, vo: string | undefined): Html {
  const v = liveValues(s, vo);
  const cell = (k: string) => html`<td data-live="${k}">${v[k] ?? "-"}</td>`;
  return layout(
    ctx,
    "Overview",
    "",
    html`<table class="grid"><thead><tr><th>Size</th>${PRIORITIES.map((p) => html`<th>${p}</th>`)}<th>delayed</th><th>running</th><th>failed</th><th>workers</th><th>oldest waiting</th></tr></thead>
<tbody>${s.queues.map((q) => html`<tr><th>${q.size}</th>${PRIORITIES.map((p) => cell(`${q.size}.${p}`))}${cell(`${q.size}.delayed`)}${cell(`${q.size}.running`)}${cell(`${q.size}.failed`)}${cell(`${q.size}.workers`)}${cell(`${q.size}.oldest`)}</tr>`)}</tbody></table>
<dl class="facts"><dt>Dead letters pending</dt><dd><a href="${ctx.root}/dead-letters/?status=pending" data-live="dlq.pending">${v["dlq.pending"]}</a></dd>
<dt>Not yet written to TaskDB</dt><dd data-live="dlq.outbox">${v["dlq.outbox"]}</dd>
<dt>Broker epoch</dt><dd data-live="epoch">${v.epoch}</dd>
<dt>Last broker wipe</dt><dd data-live="wipe">${v.wipe}</dd>
<dt>Finished in the last hour</dt><dd data-live="throughput.hour">${v["throughput.hour"]}</dd>
<dt>Updated</dt><dd data-live="at">${v.at}</dd></dl>
<h2>Throughput, last hour</h2>${chart(s.completedPerMinute, s.failedPerMinute)}`,
  );
}

const STAT_COLUMNS = [
  ["completed", "completed"],
  ["failed", "failed"],
  ["retried", "retried"],
  ["deferred", "deferred"],
] as const satisfies readonly (readonly [keyof TaskStats["hour"], string])[];

/** A duration for people: 850 ms, 4.2 s, 3m05s. */
export function durationText(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return ageText(ms);
}

const when = (ms: number | undefined): string => (ms ? new Date(ms).toISOString().replace(".000Z", "Z") : "-");

export function schedulesPage(ctx: PageContext, rows: readonly ScheduleStatus[]): Html {
  return layout(
    ctx,
    "Schedules",
    "/schedules",
    html`<table class="grid"><thead><tr><th>Schedule</th><th>Task</th><th>VO</th><th>Spec</th><th>Next run (UTC)</th><th>Last run</th><th>Outcome</th><th>State</th>${ctx.user?.canWrite ? html`<th>Actions</th>` : ""}</tr></thead>
<tbody>${rows.map(
      (r) => html`<tr data-schedule="${r.id}"><td>${r.id}</td><td>${r.task}</td><td>${r.vo ?? "-"}${r.variant ? html` <span class="badge">${r.variant}</span>` : ""}</td><td><code>${r.schedule}</code></td><td>${when(r.nextRunAt)}</td><td>${when(r.lastRunAt)}</td><td>${r.lastOutcome ?? "-"}${r.lastError ? html` <span class="err">${r.lastError}</span>` : ""}</td>
<td><span class="badge ${r.paused ? "paused" : "active"}">${r.paused ? "paused" : "active"}</span>${r.problem ? html` <span class="err">${r.problem}</span>` : ""}</td>
${ctx.user?.canWrite ? html`<td>${r.paused ? action(ctx, `/schedules/${encodeURIComponent(r.id)}/resume`, "Resume") : action(ctx, `/schedules/${encodeURIComponent(r.id)}/pause`, "Pause")}${action(ctx, `/schedules/${encodeURIComponent(r.id)}/trigger`, "Trigger now")}</td>` : ""}</tr>`,
    )}</tbody></table>${rows.length ? "" : html`<p>No schedules.</p>`}`,
  );
}

export interface DeadLetterQuery {
  task?: string;
  vo?: string;
  status?: string;
  age?: string;
  args?: string;
  page: number;
}

export function queryString(q: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
}

export function deadLettersPage(ctx: PageContext, q: DeadLetterQuery, rows: readonly DeadLetter[], total: number, pageSize: number, statuses: readonly string[]): Html {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const filterFields = { task: q.task ?? "", vo: q.vo ?? "", status: q.status ?? "", age: q.age ?? "", args: q.args ?? "" };
  const taskLink = (id: string) => html`<a href="${ctx.root}/tasks/${encodeURIComponent(id)}">${id}</a>`;
  return layout(
    ctx,
    "Dead letters",
    "/dead-letters",
    html`<form method="get" class="filters"><label>Task <input name="task" value="${q.task ?? ""}"></label>
${ctx.user?.allVos ? html`<label>VO <input name="vo" value="${q.vo ?? ""}"></label>` : ""}
<label>Status <select name="status"><option value="">any</option>${statuses.map((s) => html`<option${s === q.status ? html` selected` : ""}>${s}</option>`)}</select></label>
<label>Older than <input name="age" placeholder="2d" value="${q.age ?? ""}" size="5"></label>
<label>Arguments contain <input name="args" placeholder='{"job_id": 12}' value="${q.args ?? ""}"></label><button>Filter</button></form>
<p><span class="total">${total}</span> entries · page ${q.page} of ${pages}
${q.page > 1 ? html` · <a rel="prev" href="${ctx.root}/dead-letters/${queryString({ ...filterFields, page: q.page - 1 })}">previous</a>` : ""}
${q.page < pages ? html` · <a rel="next" href="${ctx.root}/dead-letters/${queryString({ ...filterFields, page: q.page + 1 })}">next</a>` : ""}</p>
<form method="post" id="dl-selection" action="${ctx.root}/dead-letters/resubmit">${csrf(ctx)}</form>
<table class="grid"><thead><tr>${ctx.user?.canWrite ? html`<th><input type="checkbox" class="select-all" aria-label="select all"></th>` : ""}<th>Id</th><th>Task</th><th>VO</th><th>Status</th><th>Attempts</th><th>Dead-lettered</th><th>Last error</th><th>Arguments</th>${ctx.user?.canWrite ? html`<th>Actions</th>` : ""}</tr></thead>
<tbody>${rows.map(
      (r) => html`<tr data-dead-letter="${r.id}">${ctx.user?.canWrite ? html`<td><input type="checkbox" name="id" value="${r.id}" form="dl-selection" aria-label="select ${r.id}"></td>` : ""}<td><a href="${ctx.root}/dead-letters/${r.id}">${r.id}</a></td><td>${r.taskName}</td><td>${r.vo ?? "-"}</td>
<td class="status">${r.status}${r.resubmittedTaskId ? html` as ${taskLink(r.resubmittedTaskId)}` : ""}</td><td>${r.attempts}</td><td>${r.createdAt.toISOString()}</td><td class="err">${r.lastErrorType ?? "?"}: ${(r.lastErrorMessage ?? "").split("\n")[0]}</td><td><code>${JSON.stringify(r.args)}</code></td>
${ctx.user?.canWrite ? html`<td>${r.status === "pending" ? html`${action(ctx, "/dead-letters/resubmit", "Resubmit", { id: String(r.id) })}${action(ctx, "/dead-letters/discard", "Discard", { id: String(r.id) }, `Discard dead letter ${r.id}?`)}` : ""}</td>` : ""}</tr>`,
    )}</tbody></table>
${ctx.user?.canWrite ? html`<p><button form="dl-selection">Resubmit selected</button> ${action(ctx, "/dead-letters/resubmit", `Resubmit every pending entry matching the filter`, { ...filterFields, all: "filter" }, "Resubmit every pending entry matching this filter?")}</p>` : ""}`,
  );
}

export function deadLetterPage(ctx: PageContext, e: DeadLetter): Html {
  return layout(
    ctx,
    `Dead letter ${e.id}`,
    "/dead-letters",
    html`<dl class="facts"><dt>Task</dt><dd>${e.taskName}</dd><dt>Task id</dt><dd>${e.taskId}</dd><dt>Status</dt><dd class="status">${e.status}${e.resubmittedTaskId ? html` as <a href="${ctx.root}/tasks/${encodeURIComponent(e.resubmittedTaskId)}">${e.resubmittedTaskId}</a>` : ""}</dd>
<dt>VO</dt><dd>${e.vo ?? "-"}</dd><dt>First submitted</dt><dd>${e.firstSubmittedAt.toISOString()}</dd><dt>Arguments</dt><dd><pre>${JSON.stringify(e.args, null, 2)}</pre></dd><dt>Labels</dt><dd><pre>${JSON.stringify(e.labels, null, 2)}</pre></dd></dl>
<h2>Attempts</h2><ol>${e.errors.map((a) => html`<li>attempt ${a.attempt} at ${a.at}: <b>${a.type}</b>: ${a.message}${a.stack ? html`<pre>${a.stack}</pre>` : ""}</li>`)}</ol>
${e.status === "pending" ? html`${action(ctx, "/dead-letters/resubmit", "Resubmit", { id: String(e.id) })}${action(ctx, "/dead-letters/discard", "Discard", { id: String(e.id) }, `Discard dead letter ${e.id}?`)}` : ""}`,
  );
}

export function locksPage(ctx: PageContext, rows: readonly LockInfo[], filter: string): Html {
  return layout(
    ctx,
    "Locks and limiters",
    "/locks",
    html`<form method="get" class="filters"><label>Object <input name="object" value="${filter}" placeholder="job:1234"></label><button>Filter</button></form>
<table class="grid"><thead><tr><th>Key</th><th>Type</th><th>Object</th><th>Holder task</th><th>Owner</th><th>Age</th><th>TTL</th>${ctx.user?.canWrite ? html`<th>Actions</th>` : ""}</tr></thead>
<tbody>${rows.map((l) =>
      l.holders.map(
        (h, i) => html`<tr data-lock="${l.redisKey}"><td>${l.redisKey}</td><td>${l.type}${h.mode ? `:${h.mode}` : ""}</td><td>${l.objectType}:${l.key}</td><td>${h.taskId ? html`<a href="${ctx.root}/tasks/${encodeURIComponent(h.taskId)}">${h.taskName ?? h.taskId}</a>` : (h.taskName ?? "-")}</td><td>${h.ownerId}</td><td>${ageText(h.ageMs)}</td><td>${ageText(h.ttlMs)}</td>
${ctx.user?.canWrite ? html`<td>${i === 0 ? action(ctx, "/locks/release", "Force release", { key: l.redisKey, confirm: "yes" }, `Force-release ${l.redisKey}? Its holder will be told it lost the lock.`) : ""}</td>` : ""}</tr>`,
      ),
    )}</tbody></table>${rows.length ? "" : html`<p>No locks held.</p>`}`,
  );
}

export function taskPage(ctx: PageContext, t: TaskView, canCancel: boolean): Html {
  const rel = (r: { taskId: string; task?: string; state: string; failedReason?: string }) => html`<a href="${ctx.root}/tasks/${encodeURIComponent(r.taskId)}">${r.taskId}</a> ${r.task ?? ""} <span class="badge">${r.state}</span>${r.failedReason ? html` <span class="err">${r.failedReason}</span>` : ""}`;
  return layout(
    ctx,
    `Task ${t.taskId}`,
    "/tasks",
    html`<dl class="facts"><dt>Task</dt><dd class="task">${t.task}</dd><dt>State</dt><dd class="state">${t.state}</dd><dt>Queue</dt><dd>${t.size} / ${t.priority}</dd>
<dt>First submitted</dt><dd>${t.firstSubmittedAt}</dd><dt>Queued</dt><dd>${t.queuedAt}</dd><dt>Attempts</dt><dd>${t.attempts}</dd><dt>Deferrals</dt><dd>${t.deferrals}</dd>
<dt>Arguments</dt><dd><pre>${JSON.stringify(t.args, null, 2)}</pre></dd><dt>Labels</dt><dd><pre>${JSON.stringify(t.labels, null, 2)}</pre></dd>
${t.parent ? html`<dt>Parent</dt><dd>${rel(t.parent)}</dd>` : ""}
${t.result !== undefined ? html`<dt>Result</dt><dd><pre>${JSON.stringify(t.result, null, 2)}</pre></dd>` : ""}
${t.failedReason ? html`<dt>Failed</dt><dd class="err">${t.failedReason}</dd>` : ""}</dl>
${t.children.length ? html`<h2>Children</h2><ul>${t.children.map((c) => html`<li>${rel(c)}</li>`)}</ul>` : ""}
<h2>Attempts</h2>${t.history.length ? html`<ol class="attempts">${t.history.map((a) => html`<li>attempt ${a.attempt} at ${when(a.startedAt)}: <b>${a.outcome}</b> after ${durationText(a.durationMs)}${a.error ? html`: <span class="error-type">${a.error.type}</span>: <span class="err">${a.error.message}</span>${a.error.stack ? html`<details><summary>stack</summary><pre>${a.error.stack}</pre></details>` : ""}` : ""}</li>`)}</ol>` : html`<p>No failed attempt.</p>`}
<section class="locks"><h2>Locks held</h2>${t.locks.length ? html`<ul>${t.locks.map((l) => html`<li>${l.redisKey} (${l.type}${l.mode ? `:${l.mode}` : ""})</li>`)}</ul>` : html`<p>None.</p>`}</section>
${canCancel ? action(ctx, `/tasks/${encodeURIComponent(t.taskId)}/cancel`, "Cancel", {}, `Cancel task ${t.taskId}?`) : ""}`,
  );
}

export interface TaskTypeRow {
  id: string;
  stats: TaskStats | undefined;
  size: string;
  priority: string;
  retry: string;
  dlqEligible: boolean;
  schedule: string;
  fields: { name: string; type: string; required: boolean }[];
}

export function tasksPage(ctx: PageContext, rows: readonly TaskTypeRow[], lookup: Interpolation): Html {
  return layout(
    ctx,
    "Tasks",
    "/tasks",
    html`<form method="get" action="${ctx.root}/tasks/lookup" class="filters"><label>Task id <input name="id" required></label><button>Show</button></form>${lookup}
<table class="grid"><thead><tr><th rowspan="2">Task</th><th rowspan="2">Size</th><th rowspan="2">Priority</th><th rowspan="2">Retry</th><th rowspan="2">Dead-letter</th><th rowspan="2">Default schedule</th><th colspan="4">Last hour</th><th colspan="4">Last 24 h</th><th colspan="2">Duration (24 h)</th><th rowspan="2">Last failure</th>${ctx.user?.canWrite ? html`<th rowspan="2">Submit</th>` : ""}</tr>
<tr>${[1, 2].map(() => STAT_COLUMNS.map(([, label]) => html`<th>${label}</th>`))}<th>p50</th><th>p95</th></tr></thead>
<tbody>${rows.map(
      (r) => html`<tr data-task-type="${r.id}"><td>${r.id}</td><td>${r.size}</td><td>${r.priority}</td><td>${r.retry}</td><td>${r.dlqEligible ? "yes" : "no"}</td><td>${r.schedule}</td>
${STAT_COLUMNS.map(([k]) => html`<td class="num ${k}-1h">${r.stats?.hour[k] ?? 0}</td>`)}${STAT_COLUMNS.map(([k]) => html`<td class="num ${k}-24h">${r.stats?.day[k] ?? 0}</td>`)}
<td class="num p50">${r.stats?.day.p50Ms !== undefined ? `≤ ${durationText(r.stats.day.p50Ms)}` : "-"}</td><td class="num p95">${r.stats?.day.p95Ms !== undefined ? `≤ ${durationText(r.stats.day.p95Ms)}` : "-"}</td>
<td class="last-failure">${r.stats?.lastFailure ? html`${when(r.stats.lastFailure.at)} ${r.stats.lastFailure.taskId ? html`<a href="${ctx.root}/tasks/${encodeURIComponent(r.stats.lastFailure.taskId)}">${r.stats.lastFailure.taskId}</a>` : ""} <span class="error-type">${r.stats.lastFailure.type}</span>: <span class="err">${r.stats.lastFailure.message.split("\n")[0]}</span>` : "-"}</td>
${ctx.user?.canWrite ? html`<td><form method="post" action="${ctx.root}/tasks/submit" class="submit">${csrf(ctx)}<input type="hidden" name="task" value="${r.id}">${r.fields.map((f) => html`<label>${f.name} <input name="arg.${f.name}" placeholder="${f.type}"${f.required ? html` required` : ""}></label> `)}<button>Submit</button></form></td>` : ""}</tr>`,
    )}</tbody></table>`,
  );
}

export interface WorkerRow {
  size: string;
  name: string;
  addr: string;
  age: string;
}

export function workersPage(ctx: PageContext, rows: readonly WorkerRow[], running: readonly { taskId: string; task: string; size: string }[]): Html {
  return layout(
    ctx,
    "Workers",
    "/workers",
    html`<table class="grid"><thead><tr><th>Size</th><th>Worker</th><th>Address</th><th>Connected for</th></tr></thead><tbody>${rows.map((w) => html`<tr><td>${w.size}</td><td>${w.name}</td><td>${w.addr}</td><td>${w.age}</td></tr>`)}</tbody></table>${rows.length ? "" : html`<p>No worker online.</p>`}
<h2>Running now</h2><ul>${running.map((t) => html`<li><a href="${ctx.root}/tasks/${encodeURIComponent(t.taskId)}">${t.taskId}</a> ${t.task} (${t.size})</li>`)}</ul>`,
  );
}

export function auditPage(ctx: PageContext, rows: readonly OperatorAction[] | undefined): Html {
  return layout(
    ctx,
    "Audit",
    "/audit",
    rows === undefined
      ? html`<p>No TaskDB (DIRACX_DB_URL_TASKDB is not set): actions are not recorded.</p>`
      : html`<table class="grid"><thead><tr><th>When</th><th>Who</th><th>Group</th><th>VO</th><th>Action</th><th>Target</th><th>Detail</th></tr></thead><tbody>${rows.map((a) => html`<tr><td>${a.at.toISOString()}</td><td>${a.username || a.sub}</td><td>${a.diracGroup}</td><td>${a.vo}</td><td>${a.action}</td><td>${a.target}</td><td><code>${JSON.stringify(a.detail)}</code></td></tr>`)}</tbody></table>`,
  );
}

export function messagePage(ctx: PageContext, title: string, text: string): Html {
  return layout(ctx, title, "", html`<p>${text}</p>`);
}
