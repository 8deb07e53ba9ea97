// The contract every JobParametersStore meets, run end to end against a real store.
// (The OpenSearch class is checked at the client boundary in job-parameters-os.test.ts;
// no OpenSearch server can run here.)
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { JobParametersStore } from "../../src/db/os/job-parameters.ts";
import { InvalidQueryError } from "../../src/db/errors.ts";

export function jobParametersContract(name: string, open: () => Promise<JobParametersStore>): void {
  describe(`JobParametersStore contract: ${name}`, () => {
    let db: JobParametersStore;
    before(async () => {
      db = await open();
      await db.createIndexTemplate();
      await db.createIndexTemplate(); // idempotent
    });

    test("upsert stamps JobID and timestamp and merges fields instead of replacing them", async () => {
      const t0 = Date.now();
      await db.upsert("LHCb", 101, { Status: "Running", HostName: "wn01.cern.ch", StandardOutput: "hello", "Memory(MB)": "2048" });
      await db.upsert("lhcb", 101, { Status: "Done", Note: "second" });
      const { total, results } = await db.search(null, [{ parameter: "JobID", operator: "eq", value: 101 }], []);
      assert.equal(total, 1);
      const doc = results[0]!;
      assert.equal(doc.JobID, 101);
      assert.equal(doc.Status, "Done");
      assert.equal(doc.HostName, "wn01.cern.ch");
      assert.equal(doc["Memory(MB)"], 2048);
      assert.equal(doc.StandardOutput, "hello", "unmapped fields are merged, not replaced");
      assert.equal(doc.Note, "second");
      assert.ok(doc.timestamp instanceof Date && doc.timestamp.getTime() >= t0 - 1000);
    });

    test("bulkUpsert writes many jobs; entries for one job merge in order", async () => {
      await db.bulkUpsert([
        { vo: "lhcb", jobId: 201, params: { Status: "Waiting", JobType: "User" } },
        { vo: "belle", jobId: 1_000_202, params: { Status: "Running", PayloadPID: 42 } },
        { vo: "lhcb", jobId: 201, params: { Status: "Matched" } },
      ]);
      const r = await db.search(["JobID", "Status", "JobType", "PayloadPID"], [{ parameter: "JobID", operator: "in", values: [201, 1_000_202] }], [
        { parameter: "JobID", direction: "asc" },
      ]);
      assert.deepEqual(r.results, [
        { JobID: 201, Status: "Matched", JobType: "User" },
        { JobID: 1_000_202, Status: "Running", PayloadPID: 42 },
      ]);
    });

    test("searches with every operator, sorts and pages", async () => {
      await db.bulkUpsert(
        [1, 2, 3, 4, 5].map((i) => ({ vo: "cta", jobId: 300 + i, params: { Status: i % 2 ? "Done" : "Failed", CPUNormalizationFactor: i * 10, GridCE: `ce${i}` } })),
      );
      const within = { parameter: "JobID", operator: "in" as const, values: [301, 302, 303, 304, 305] };
      const ids = async (...specs: Parameters<JobParametersStore["search"]>[1]) =>
        (await db.search(["JobID"], [within, ...specs], [{ parameter: "JobID", direction: "asc" }])).results.map((d) => d.JobID);
      assert.deepEqual(await ids({ parameter: "Status", operator: "eq", value: "Done" }), [301, 303, 305]);
      assert.deepEqual(await ids({ parameter: "Status", operator: "neq", value: "Done" }), [302, 304]);
      assert.deepEqual(await ids({ parameter: "CPUNormalizationFactor", operator: "gt", value: 30 }), [304, 305]);
      assert.deepEqual(await ids({ parameter: "CPUNormalizationFactor", operator: "lt", value: "30" }), [301, 302]);
      assert.deepEqual(await ids({ parameter: "GridCE", operator: "in", values: ["ce1", "ce5"] }), [301, 305]);
      assert.deepEqual(await ids({ parameter: "GridCE", operator: "not in", values: ["ce1", "ce5"] }), [302, 303, 304]);
      // Documents without the field match a negation, as OpenSearch's must_not does.
      await db.upsert("cta", 306, { Status: "Done" });
      const all = { parameter: "JobID", operator: "in" as const, values: [301, 302, 303, 304, 305, 306] };
      const neg = await db.search(["JobID"], [all, { parameter: "GridCE", operator: "not in", values: ["ce1"] }], [{ parameter: "JobID", direction: "asc" }]);
      assert.deepEqual(neg.results.map((d) => d.JobID), [302, 303, 304, 305, 306]);

      const page = await db.search(["JobID", "CPUNormalizationFactor"], [within], [{ parameter: "CPUNormalizationFactor", direction: "desc" }], { perPage: 2, page: 2 });
      assert.equal(page.total, 5);
      assert.deepEqual(page.results, [
        { JobID: 303, CPUNormalizationFactor: 30 },
        { JobID: 302, CPUNormalizationFactor: 20 },
      ]);
    });

    test("filters on dates given as Date, ISO string or epoch ms", async () => {
      const before = new Date(Date.now() - 60_000);
      await db.upsert("lhcb", 401, { Status: "Done" });
      const after = new Date(Date.now() + 60_000);
      for (const value of [before, before.toISOString(), before.getTime()]) {
        const r = await db.search(["JobID"], [{ parameter: "JobID", operator: "eq", value: 401 }, { parameter: "timestamp", operator: "gt", value }], []);
        assert.equal(r.total, 1, `gt ${String(value)}`);
      }
      const none = await db.search(["JobID"], [{ parameter: "JobID", operator: "eq", value: 401 }, { parameter: "timestamp", operator: "gt", value: after }], []);
      assert.equal(none.total, 0);
    });

    test("refuses the same queries as OpenSearch", async () => {
      const bad: Array<Parameters<JobParametersStore["search"]>> = [
        [null, [{ parameter: "Unknown", operator: "eq", value: 1 }], []],
        [null, [{ parameter: "Status", operator: "like" as "eq", value: "D%" }], []],
        [null, [{ parameter: "Status", operator: "regex" as "eq", value: ".*" }], []],
        [null, [{ parameter: "HostName", operator: "eq", value: "x" }], []],
        [null, [{ parameter: "Status", operator: "lt", value: "x" }], []],
        [null, [], [{ parameter: "HostName", direction: "asc" }]],
        [null, [], [], { perPage: 0 }],
        [[], [], []],
      ];
      for (const args of bad) await assert.rejects(db.search(...args), InvalidQueryError, JSON.stringify(args));
    });

    test("refuses a value of the wrong type for a mapped field", async () => {
      await assert.rejects(db.upsert("lhcb", 501, { PayloadPID: "not-a-number" }), /PayloadPID/);
      await assert.rejects(db.upsert("not a vo!", 501, { Status: "Done" }), InvalidQueryError);
    });
  });
}
