import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { after, before, describe, it } from "node:test";
import { RedisServer } from "../support/redis.ts";
import { createTestDatabase } from "../support/postgres.ts";
import type { DeadLetter } from "../../src/index.ts";

const server = await RedisServer.start();
process.env.DIRACX_TASKS_REDIS_URL = server.url;
process.env.DIRACX_APP_ROOT = fileURLToPath(new URL("../fixtures/dlq-app", import.meta.url));
const { dlqCommand } = await import("../../src/cli/commands/dlq.ts");
const { readCliContext } = await import("../../src/cli/context.ts");
const { TaskDB } = await import("../../src/index.ts");
const { Producer, TaskRegistry } = await import("../../src/entries/ops.ts");
const { getEngine, closeAllEngines } = await import("../../src/entries/db.ts");
const fixture = await import("../fixtures/dlq-app/tasks.ts");

/** Runs `diracx-tasks dlq …` in-process with its own output streams, as main() would report it. */
async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const program = new Command("diracx-tasks").exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
  program.addCommand(dlqCommand(readCliContext(), { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } }));
  try {
    await program.parseAsync(["node", "diracx-tasks", "dlq", ...args]);
    return { code: 0, out, err };
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode, out, err };
    return { code: 1, out, err: err + `diracx-tasks: ${(e as Error).message}\n` };
  }
}

const listed = (r: { out: string }): DeadLetter[] => JSON.parse(r.out) as DeadLetter[];

describe("diracx-tasks dlq list|show|resubmit|discard|delete", () => {
  const producer = new Producer({ connection: server.url, registry: TaskRegistry.fromClasses(fixture.taskClasses) });
  let taskDB: InstanceType<typeof TaskDB>;
  const ids: Record<string, number> = {};

  before(async () => {
    const url = await createTestDatabase("dlqcli");
    await TaskDB.migrate(url);
    process.env.DIRACX_DB_URL_TASKDB = url;
    // The CLI closes its own engine after each command; the test's instance uses its own pool.
    taskDB = new TaskDB(getEngine(`${url}?application_name=dlq-cli-test`));
    const add = async (name: string, task: string, vo: string | null, ageDays: number): Promise<void> => {
      const id = await taskDB.insertDeadLetter({
        taskId: `orig-${name}`,
        taskName: task,
        args: { key: name, ...(vo ? { vo } : {}) },
        labels: vo ? { vo } : {},
        vo,
        firstSubmittedAt: new Date(Date.now() - ageDays * 86_400_000 - 60_000),
        attempts: 2,
        errors: [
          { attempt: 1, type: "FlakyError", message: "first", stack: "FlakyError: first\n    at Flaky.execute (tasks.ts:1:1)", at: new Date().toISOString() },
          { attempt: 2, type: "FlakyError", message: "second", stack: "FlakyError: second\n    at Flaky.execute (tasks.ts:1:1)", at: new Date().toISOString() },
        ],
      });
      await taskDB.db.updateTable("dlq_tasks").set({ created_at: new Date(Date.now() - ageDays * 86_400_000) }).where("id", "=", id).execute();
      ids[name] = id;
    };
    await add("old-lhcb", "dlq:Flaky", "lhcb", 3);
    await add("new-lhcb", "dlq:Flaky", "lhcb", 0);
    await add("old-gubbins", "dlq:Flaky", "gubbins", 5);
    await add("hangs", "dlq:Hangs", null, 1);
  });
  after(async () => {
    await producer.close();
    fixture.closeRecorder();
    await closeAllEngines();
    await server.stop();
  });

  it("lists with filters by task, VO, status and age", async () => {
    assert.equal(listed(await run("list", "--json")).length, 4);
    assert.deepEqual(listed(await run("list", "--json", "--task", "dlq:Hangs")).map((e) => e.id), [ids.hangs]);
    assert.deepEqual(listed(await run("list", "--json", "--vo", "lhcb")).map((e) => e.id), [ids["new-lhcb"], ids["old-lhcb"]]);
    assert.deepEqual(listed(await run("list", "--json", "--older-than", "2d")).map((e) => e.id), [ids["old-lhcb"], ids["old-gubbins"]]);
    const table = await run("list", "--task", "dlq:Hangs");
    assert.match(table.out, /^ID\s+TASK\s+VO\s+STATUS\s+ATTEMPTS\s+CREATED\s+LAST ERROR\n/);
    assert.match(table.out, new RegExp(`${ids.hangs}\\s+dlq:Hangs\\s+-\\s+pending\\s+2\\s+\\S+\\s+FlakyError: second`));
    const bad = await run("list", "--older-than", "2 fortnights");
    assert.equal(bad.code, 1);
    assert.equal(bad.err, "diracx-tasks: invalid age '2 fortnights' (expected a number and a unit: 45s, 30m, 12h, 2d, 1w)\n");
    const badStatus = await run("list", "--status", "stuck");
    assert.match(badStatus.err, /unknown dead-letter status 'stuck' \(known: pending, resubmitted, resolved, discarded, all\)/);
  });

  it("shows one entry with every attempt's error and stack", async () => {
    const r = await run("show", String(ids["old-lhcb"]));
    assert.equal(r.code, 0);
    assert.match(r.out, /task:\s+dlq:Flaky/);
    assert.deepEqual(JSON.parse(/args:\s+(.*)/.exec(r.out)?.[1] ?? "null"), { key: "old-lhcb", vo: "lhcb" });
    assert.match(r.out, /attempt 1 at .*: FlakyError: first\n\s+at Flaky\.execute \(tasks\.ts:1:1\)\n\s+attempt 2 at .*: FlakyError: second/);
    const missing = await run("show", "999999");
    assert.equal(missing.code, 1);
    assert.equal(missing.err, "diracx-tasks: no dead-letter entry 999999\n");
  });

  it("resubmits one id once (a second resubmit is refused), then a filter, showing progress", async () => {
    const one = await run("resubmit", String(ids.hangs));
    assert.equal(one.code, 0, one.err);
    const [, taskId] = /resubmitted \d+ as (\S+)/.exec(one.out) ?? [];
    assert.ok(taskId);
    const job = await producer.queue("small").getJob(taskId);
    assert.equal(job?.name, "dlq:Hangs");
    assert.deepEqual(job?.data.args, { key: "hangs" });
    assert.equal(job?.data.meta.labels.dlqId, String(ids.hangs));
    assert.equal((await taskDB.get(ids.hangs!))?.status, "resubmitted");

    const again = await run("resubmit", String(ids.hangs));
    assert.equal(again.code, 1);
    assert.match(again.err, new RegExp(`entry ${ids.hangs} is resubmitted, not pending`));

    const usage = await run("resubmit");
    assert.equal(usage.code, 1);
    assert.match(usage.err, /give an entry id, a filter \(--task, --vo, --older-than\) or --all/);

    const byVo = await run("resubmit", "--vo", "lhcb");
    assert.equal(byVo.code, 0, byVo.err);
    assert.equal(byVo.out, "resubmitted 2 of 2\n");
    assert.match(byVo.err, /resubmitting: started, 2 to do[\s\S]*resubmitting: done, 2\/2 \(100%\)/);
    const all = await run("resubmit", "--all");
    assert.equal(all.out, "resubmitted 1 of 1\n", "only the one still pending");
    assert.equal(await producer.queue("small").count(), 4);
    const nothing = await run("resubmit", "--all");
    assert.equal(nothing.code, 0, nothing.err);
    assert.equal(nothing.out, "nothing to resubmit: no pending dead-letter entry matches\n");
    assert.doesNotMatch(nothing.err, /done/, "no progress is claimed for an empty set");
  });

  it("discards by id (kept, status discarded); an unknown or final id is refused, named", async () => {
    const id = await taskDB.insertDeadLetter({ taskId: "orig-discard", taskName: "dlq:Flaky", args: { key: "x" }, labels: {}, vo: null, firstSubmittedAt: new Date(), attempts: 1, errors: [] });
    const r = await run("discard", String(id));
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `discarded ${id}\n`);
    assert.equal((await taskDB.get(id))?.status, "discarded");
    const again = await run("discard", String(id), "999999");
    assert.equal(again.code, 1);
    assert.match(again.err, new RegExp(`^diracx-tasks: not discarded \\(no such entry, or already resolved/discarded\\): ${id}, 999999\n$`));
    await taskDB.delete([id]);
  });

  it("deletes by id and by filter with --yes", async () => {
    const r = await run("delete", String(ids.hangs), "--yes");
    assert.equal(r.out, "deleted 1\n");
    const f = await run("delete", "--vo", "lhcb", "--yes");
    assert.equal(f.out, "deleted 2\n");
    assert.deepEqual(listed(await run("list", "--json")).map((e) => e.id), [ids["old-gubbins"]]);
    const none = await run("delete", "123456", "--yes");
    assert.equal(none.code, 1);
    assert.match(none.err, /1 of the given ids did not exist/);
  });
});
