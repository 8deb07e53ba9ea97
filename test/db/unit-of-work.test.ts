import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { DBQueryError, DBUnavailableError } from "../../src/db/errors.ts";
import { closeAllEngines, closeEngine, getEngine } from "../../src/db/sql/engine.ts";
import { JobDB, compressJdl } from "../../src/db/sql/job-db.ts";
import { TaskDB } from "../../src/db/sql/task-db.ts";
import { missingDependencies, openUnitOfWork, withUnitOfWork, type DependencyContext } from "../../src/db/unit-of-work.ts";
import { settleUnitOfWork } from "../../src/entries/db.ts";
import { loadRegistry, type Registry } from "../../src/registry/index.ts";
import { Config } from "../../src/config/token.ts";
import { GubbinsJobDB } from "../../extensions/gubbins/src/db/job-db.ts";
import { freePort } from "../support/ports.ts";
import { backends } from "./backends.ts";

const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
let coreRegistry: Registry;
let gubbinsRegistry: Registry;

before(async () => {
  coreRegistry = await loadRegistry({ appRoot: REPO_ROOT });
  gubbinsRegistry = await loadRegistry({ appRoot: path.join(REPO_ROOT, "extensions/gubbins") });
});
after(() => closeAllEngines());

const spec = { jobs: JobDB, dlq: TaskDB };

async function jobCount(url: string): Promise<number> {
  return (await new JobDB(getEngine(url)).search({ parameters: ["JobID"] })).total;
}

for (const backend of backends) {
  describe(`unit of work on ${backend.name}`, () => {
    let env: Record<string, string>;
    before(async () => {
      const url = await backend.url();
      // TaskDB on its own database where the backend allows it, to exercise two transactions.
      const taskUrl = backend.name === "postgresql" ? await backend.url() : url;
      env = { DIRACX_DB_URL_JOBDB: url, DIRACX_DB_URL_TASKDB: taskUrl };
      await JobDB.migrate(url);
      await TaskDB.migrate(taskUrl);
    });

    test("commit persists the writes of every DB", async () => {
      const before = await jobCount(env.DIRACX_DB_URL_JOBDB!);
      await withUnitOfWork(spec, { registry: coreRegistry, env }, async ({ jobs, dlq }) => {
        const id = await jobs.createJob(compressJdl("[]"));
        await jobs.insertJobAttributes({ [id]: { VO: "lhcb" } });
        await dlq.insertDeadLetter({ taskId: "commit-1", taskName: "x:Y", args: {}, firstSubmittedAt: new Date(), attempts: 1, errors: [] });
      });
      assert.equal(await jobCount(env.DIRACX_DB_URL_JOBDB!), before + 1);
      assert.equal(await new TaskDB(getEngine(env.DIRACX_DB_URL_TASKDB!)).count({ taskName: "x:Y" }), 1);
    });

    test("a failing unit of work leaves no rows in any DB", async () => {
      const before = await jobCount(env.DIRACX_DB_URL_JOBDB!);
      await assert.rejects(
        withUnitOfWork(spec, { registry: coreRegistry, env }, async ({ jobs, dlq }) => {
          const id = await jobs.createJob(compressJdl("[]"));
          await jobs.insertJobAttributes({ [id]: { VO: "lhcb" } });
          await dlq.insertDeadLetter({ taskId: "rollback-1", taskName: "x:Rollback", args: {}, firstSubmittedAt: new Date(), attempts: 1, errors: [] });
          throw new Error("task failed");
        }),
        /task failed/,
      );
      assert.equal(await jobCount(env.DIRACX_DB_URL_JOBDB!), before);
      assert.equal(await new TaskDB(getEngine(env.DIRACX_DB_URL_TASKDB!)).count({ taskName: "x:Rollback" }), 0);
    });

    test("a request's unit of work is committed below status 400 and rolled back from 400 on", async () => {
      const before = await jobCount(env.DIRACX_DB_URL_JOBDB!);
      for (const status of [200, 201, 400, 500]) {
        const uow = await openUnitOfWork({ jobs: JobDB, config: Config }, { registry: coreRegistry, env, config: { current: () => ({ request: status }) } });
        assert.deepEqual(uow.deps.config, { request: status }, "the same tokens as a task, Config included");
        const id = await uow.deps.jobs.createJob(compressJdl("[]"));
        await uow.deps.jobs.insertJobAttributes({ [id]: { VO: `status-${status}` } });
        assert.equal(await settleUnitOfWork(uow, status), status < 400 ? "committed" : "rolledBack");
      }
      assert.equal(await jobCount(env.DIRACX_DB_URL_JOBDB!), before + 2);
    });

    test("a bad statement is a DBQueryError, not a DBUnavailableError", async () => {
      const uow = await openUnitOfWork({ jobs: JobDB }, { registry: coreRegistry, env });
      const err = await uow.deps.jobs.insertJobAttributes({ 999999: { VO: "lhcb" } }).catch((e: unknown) => e);
      await uow.rollback();
      assert.ok(err instanceof DBQueryError, String(err));
      assert.equal(err.isForeignKeyViolation, true);
      assert.ok(!(err instanceof DBUnavailableError));
    });

    test("a gubbins registry resolves core JobDB to GubbinsJobDB", async () => {
      await GubbinsJobDB.migrate(env.DIRACX_DB_URL_JOBDB!);
      await withUnitOfWork({ jobs: JobDB }, { registry: gubbinsRegistry, env }, async ({ jobs }) => {
        assert.ok(jobs instanceof GubbinsJobDB, `got ${jobs.constructor.name}`);
        const id = await jobs.createJob(compressJdl("[X = 1;]"));
        await jobs.updateJobJdls({ [id]: compressJdl("[X = 1;]") });
        await jobs.insertJobAttributes({ [id]: { VO: "gubbins" } });
        await (jobs as GubbinsJobDB).insertGubbinsInfo(id, "hello");
        assert.deepEqual(await (jobs as GubbinsJobDB).getJobJdls([id], { withInfo: true }), { [id]: { JDL: "[X = 1;]", Info: "hello" } });
      });
      await withUnitOfWork({ jobs: JobDB }, { registry: coreRegistry, env }, async ({ jobs }) => {
        assert.equal(jobs.constructor, JobDB);
      });
    });
  });
}

describe("unit of work (PostgreSQL only)", () => {
  test("two concurrent units of work are isolated until commit", async () => {
    const url = await backends[0]!.url();
    await JobDB.migrate(url);
    const env = { DIRACX_DB_URL_JOBDB: url };
    const a = await openUnitOfWork({ jobs: JobDB }, { registry: coreRegistry, env });
    const b = await openUnitOfWork({ jobs: JobDB }, { registry: coreRegistry, env });
    const id = await a.deps.jobs.createJob(compressJdl("[]"));
    await a.deps.jobs.insertJobAttributes({ [id]: { VO: "lhcb" } });
    assert.equal((await b.deps.jobs.search({ parameters: ["JobID"] })).total, 0);
    await a.commit();
    assert.equal((await b.deps.jobs.search({ parameters: ["JobID"] })).total, 1);
    await b.rollback();
  });

  test("an unreachable server is a DBUnavailableError", async () => {
    const url = `postgresql://postgres@127.0.0.1:${await freePort()}/nothing`;
    const err = await openUnitOfWork({ jobs: JobDB }, { registry: coreRegistry, env: { DIRACX_DB_URL_JOBDB: url } }).catch((e: unknown) => e);
    assert.ok(err instanceof DBUnavailableError, String(err));
    assert.match(err.message, /127\.0\.0\.1/);
  });
});

describe("unit of work: dependencies", () => {
  test("a closed PGlite engine is a DBUnavailableError", async () => {
    const url = "pglite://memory#closed";
    await JobDB.migrate(url);
    const db = new JobDB(getEngine(url));
    await closeEngine(url);
    await assert.rejects(db.search(), DBUnavailableError);
  });

  test("missing URLs are reported before anything opens, naming the variable", async () => {
    assert.deepEqual(missingDependencies(spec, coreRegistry, {}), ["DIRACX_DB_URL_JOBDB (for JobDB)", "DIRACX_DB_URL_TASKDB (for TaskDB)"]);
    await assert.rejects(openUnitOfWork(spec, { registry: coreRegistry, env: { DIRACX_DB_URL_JOBDB: "pglite://memory" } }), /missing configuration: DIRACX_DB_URL_TASKDB \(for TaskDB\)/);
  });

  test("settings, config and custom tokens pass through", async () => {
    class Settings {
      constructor(readonly size: number) {}
      static fromEnv(env: Record<string, string | undefined> = process.env) {
        return new Settings(Number(env.X_SIZE ?? 1));
      }
    }
    const finished: string[] = [];
    const Tracker = {
      resolveDependency(ctx: DependencyContext) {
        ctx.onFinish((o) => void finished.push(o));
        return "tracked";
      },
      missingDependencies: (env: Record<string, string | undefined>) => (env.TRACKER_URL ? [] : ["TRACKER_URL (for Tracker)"]),
    };
    assert.deepEqual(missingDependencies({ t: Tracker }, coreRegistry, {}), ["TRACKER_URL (for Tracker)"]);
    const uow = await openUnitOfWork({ s: Settings, c: Config, t: Tracker }, { registry: coreRegistry, config: { current: () => ({ Registry: { lhcb: {} } }) }, env: { X_SIZE: "7", TRACKER_URL: "x" } });
    assert.equal(uow.deps.s.size, 7);
    assert.deepEqual(uow.deps.c, { Registry: { lhcb: {} } });
    await assert.rejects(openUnitOfWork({ c: Config }, { registry: coreRegistry, env: {} }), /needs the DiracX configuration/);
    assert.equal(uow.deps.t, "tracked");
    await uow.commit();
    assert.deepEqual(finished, ["commit"]);
    await assert.rejects(uow.commit(), /already committed/);
  });
});
