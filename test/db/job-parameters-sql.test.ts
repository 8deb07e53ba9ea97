import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { closeAllEngines, getEngine } from "../../src/db/sql/engine.ts";
import { SqlJobParametersDB } from "../../src/db/os/sql-job-parameters-db.ts";
import { JobParametersDB } from "../../src/db/os/job-parameters-db.ts";
import { JobDB } from "../../src/db/sql/job-db.ts";
import { backends } from "./backends.ts";
import { missingDependencies, openUnitOfWork } from "../../src/db/unit-of-work.ts";
import { jobParametersContract } from "./job-parameters-contract.ts";

after(() => closeAllEngines());

for (const backend of backends) {
  jobParametersContract(`SqlJobParametersDB on ${backend.name}`, async () => new SqlJobParametersDB(getEngine(await backend.url())));
}

describe("JobParametersDB backend selection", () => {
  const noRegistry = { candidates: () => [], load: async <T>() => undefined as T };

  test("OpenSearch when DIRACX_OS_DB_JOBPARAMETERSDB is set, else SQL, else a clear error", () => {
    const os = JSON.stringify({ node: "http://127.0.0.1:9" });
    assert.equal(JobParametersDB.selectBackend({ DIRACX_OS_DB_JOBPARAMETERSDB: os, DIRACX_DB_URL_JOBPARAMETERSDB: "pglite://memory" }), "opensearch");
    assert.equal(JobParametersDB.selectBackend({ DIRACX_DB_URL_JOBPARAMETERSDB: "pglite://memory" }), "sql");
    assert.ok(JobParametersDB.open({ DIRACX_OS_DB_JOBPARAMETERSDB: os }) instanceof JobParametersDB);
    assert.ok(JobParametersDB.open({ DIRACX_DB_URL_JOBPARAMETERSDB: "pglite://memory#sel" }) instanceof SqlJobParametersDB);
    assert.throws(() => JobParametersDB.open({}), /JobParametersDB is not configured: set DIRACX_OS_DB_JOBPARAMETERSDB .* or DIRACX_DB_URL_JOBPARAMETERSDB/);
    assert.deepEqual(JobParametersDB.missingDependencies({}), ["DIRACX_OS_DB_JOBPARAMETERSDB or DIRACX_DB_URL_JOBPARAMETERSDB (for JobParametersDB)"]);
    assert.deepEqual(JobParametersDB.missingDependencies({ DIRACX_DB_URL_JOBPARAMETERSDB: "pglite://memory" }), []);
  });

  test("as a unit-of-work dependency, the SQL-backed store commits or rolls back with the unit", async () => {
    const url = await backends[0]!.url();
    await SqlJobParametersDB.migrate(url);
    const env = { DIRACX_DB_URL_JOBPARAMETERSDB: url };
    for (const outcome of ["rollback", "commit"] as const) {
      const finishers: Array<(o: "commit" | "rollback") => Promise<void> | void> = [];
      const store = await JobParametersDB.resolveDependency({ registry: noRegistry, env, onFinish: (cb) => finishers.push(cb) });
      assert.ok(store instanceof SqlJobParametersDB);
      await store.upsert("lhcb", outcome === "commit" ? 2 : 1, { Status: "Done" });
      for (const f of finishers) await f(outcome);
    }
    const r = await new SqlJobParametersDB(getEngine(url)).search(["JobID"], [], [{ parameter: "JobID", direction: "asc" }]);
    assert.deepEqual(r.results, [{ JobID: 2 }]);
  });
});

describe("JobParametersDB in a unit of work", () => {
  test("shares the unit's transaction with SQL DBs on the same URL (PGlite: no self-wait)", async () => {
    const url = await backends[1]!.url();
    await SqlJobParametersDB.migrate(url);
    await JobDB.migrate(url);
    const env = { DIRACX_DB_URL_JOBDB: url, DIRACX_DB_URL_JOBPARAMETERSDB: url };
    const registry = { candidates: () => [], load: async <T>() => undefined as T };
    for (const outcome of ["rollback", "commit"] as const) {
      const uow = await openUnitOfWork({ jobDB: JobDB, params: JobParametersDB }, { registry, env });
      await uow.deps.jobDB.search({});
      await uow.deps.params.upsert("lhcb", outcome === "commit" ? 20 : 10, { Status: "Done" });
      await (outcome === "commit" ? uow.commit() : uow.rollback());
    }
    const r = await new SqlJobParametersDB(getEngine(url)).search(["JobID"], [], []);
    assert.deepEqual(r.results, [{ JobID: 20 }]);
    assert.deepEqual(missingDependencies({ params: JobParametersDB }, registry, {}), ["DIRACX_OS_DB_JOBPARAMETERSDB or DIRACX_DB_URL_JOBPARAMETERSDB (for JobParametersDB)"]);
  });
});
