// Dashboard page times with 50,000 waiting tasks and 5,000 dead letters (target: under 2 s per
// page): the overview (a fresh snapshot each time), the dead-letter list's first, a middle and
// the last page, a filtered page and the tasks-by-type page, each through HTTP with a session
// cookie on a real `serve` app, private PostgreSQL and Redis. Beside them, in the same run, the
// bare reads those pages are made of (BullMQ's counts, one SQL page and count), so the page cost
// over its data can be read off. Paging is checked: every page holds the rows SQL says it holds,
// pages do not overlap, and the total is right (a wrong page exits non-zero).
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import { getEngine } from "../src/db/sql/engine.ts";
import { TaskDB, type NewDeadLetter } from "../src/db/sql/task-db.ts";
import { SIZES } from "../src/engine/priorities.ts";
import { startHttpServer } from "../src/http/server.ts";
import { stopTestPostgres } from "../test/support/postgres.ts";
import { setupHttpEnv, users } from "../test/http/support.ts";
import { emitter, median } from "./_support.ts";

const WAITING = Number(process.env.BENCH_DASHBOARD_WAITING ?? 50_000);
const DEAD = Number(process.env.BENCH_DASHBOARD_DEAD_LETTERS ?? 5_000);
const PAGE = 50;
const RUNS = 5;
const TARGET = "< 2000 ms";
const emit = emitter("dashboard", 1);

const he = await setupHttpEnv({ backend: "postgresql" });
const server = await startHttpServer(he.engine, { env: he.env, port: 0, logger: pino({ level: "silent" }) });
const taskDB = new TaskDB(getEngine(he.dbUrl));
try {
  // 50,000 waiting tasks, through the producer (validated, as an operator's would be), 1,000 per addBulk.
  const task = "jobs:DummyJobExecutorTask";
  for (let i = 0; i < WAITING; i += 1000) {
    await he.engine.producer.submitBulk(Array.from({ length: Math.min(1000, WAITING - i) }, (_, j) => ({ task, args: { jobId: i + j + 1 } })));
  }
  // 5,000 dead letters over two VOs and two task names, 100 rows per INSERT.
  const now = Date.now();
  const entry = (n: number): NewDeadLetter => ({
    taskId: `dead-${n}`,
    taskName: n % 3 ? "jobs:OptimizeJobsTask" : "jobs:DummyJobExecutorTask",
    args: n % 3 ? { jobIds: [n] } : { jobId: n },
    labels: { vo: n % 2 ? "lhcb" : "gridpp" },
    vo: n % 2 ? "lhcb" : "gridpp",
    firstSubmittedAt: new Date(now - n * 1000),
    attempts: 3,
    errors: [1, 2, 3].map((attempt) => ({ attempt, at: new Date(now - n * 1000 + attempt).toISOString(), type: "RuntimeError", message: `attempt ${attempt} of ${n} failed`, stack: `RuntimeError: attempt ${attempt}\n    at bench (bench/dashboard.ts)` })),
  });
  for (let i = 1; i <= DEAD; i += 100) await Promise.all(Array.from({ length: Math.min(100, DEAD - i + 1) }, (_, j) => taskDB.insertDeadLetter(entry(i + j))));

  const login = await fetch(`${server.url}/dashboard/session`, { method: "POST", headers: { authorization: `Bearer ${await he.token(users.serviceAdmin)}` } });
  assert.equal(login.status, 204);
  const cookie = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");

  async function page(path: string): Promise<{ ms: number; body: string }> {
    const t0 = performance.now();
    const r = await fetch(`${server.url}${path}`, { headers: { cookie } });
    const body = await r.text();
    const ms = performance.now() - t0;
    assert.equal(r.status, 200, `${path}: HTTP ${r.status}: ${body.slice(0, 300)}`);
    return { ms, body };
  }
  const ids = (body: string): number[] => [...body.matchAll(/data-dead-letter="(\d+)"/g)].map((m) => Number(m[1]));
  const total = (body: string): number => Number(/class="total">(\d+)</.exec(body)?.[1]);

  // Overview: each render after the shared snapshot went stale (1 s), so each one reads the broker.
  const overview: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await sleep(1100);
    const { ms, body } = await page("/dashboard/");
    const waiting = [...body.matchAll(/data-live="(small|medium|large)\.(realtime|normal|background)">(\d+)</g)].reduce((a, m) => a + Number(m[3]), 0);
    assert.equal(waiting, WAITING, "the overview counts every waiting task");
    overview.push(ms);
  }
  emit("overview_ms", median(overview), "ms", TARGET);

  const lastPage = Math.ceil(DEAD / PAGE);
  const pages = { first: 1, middle: Math.ceil(lastPage / 2), last: lastPage };
  const seen = new Set<number>();
  for (const [name, n] of Object.entries(pages)) {
    const times: number[] = [];
    let body = "";
    for (let i = 0; i < RUNS; i++) ({ ms: times[i], body } = await page(`/dashboard/dead-letters/?page=${n}`));
    const got = ids(body);
    const want = (await taskDB.list({}, { limit: PAGE, offset: (n - 1) * PAGE })).map((e) => e.id);
    assert.deepEqual(got, want, `dead letters page ${n} shows the rows of offset ${(n - 1) * PAGE}`);
    assert.equal(got.length, n === lastPage ? DEAD - (lastPage - 1) * PAGE : PAGE);
    assert.equal(total(body), DEAD);
    for (const id of got) {
      assert.ok(!seen.has(id), `dead letter ${id} is on two pages`);
      seen.add(id);
    }
    emit(`dead_letters_${name}_page_ms`, median(times), "ms", TARGET);
  }

  // A filter (VO, task, age) and an argument search on the same 5,000 rows.
  const filtered = [];
  for (let i = 0; i < RUNS; i++) filtered.push((await page("/dashboard/dead-letters/?vo=lhcb&task=jobs:OptimizeJobsTask&status=pending&age=1h&page=3")).ms);
  emit("dead_letters_filtered_page_ms", median(filtered), "ms", TARGET);
  const search = await page(`/dashboard/dead-letters/?args=${encodeURIComponent(JSON.stringify({ jobIds: [4001] }))}`);
  assert.equal(total(search.body), 1, "an argument search finds its one entry");
  emit("dead_letters_args_search_ms", search.ms, "ms", TARGET);

  const tasksPage: number[] = [];
  for (let i = 0; i < RUNS; i++) tasksPage.push((await page("/dashboard/tasks/")).ms);
  emit("tasks_page_ms", median(tasksPage), "ms", TARGET);

  // The bare reads in the same run: BullMQ's own counts of every queue, one SQL page and its count.
  const bareCounts: number[] = [];
  const bareSql: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t0 = performance.now();
    await Promise.all(SIZES.map((s) => he.engine.producer.queue(s).getJobCounts()));
    bareCounts.push(performance.now() - t0);
    t0 = performance.now();
    await Promise.all([taskDB.list({}, { limit: PAGE, offset: (pages.middle - 1) * PAGE }), taskDB.count({})]);
    bareSql.push(performance.now() - t0);
  }
  emit("bare_bullmq_counts_ms", median(bareCounts), "ms", "baseline");
  emit("bare_sql_page_ms", median(bareSql), "ms", "baseline");
} finally {
  await server.close();
  await he.close();
  await stopTestPostgres();
}
