// Request-shape tests of the OpenSearch JobParametersDB at the client boundary: the real
// OpenSearch client talks HTTP to a local recorder (no OpenSearch server can run here).
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { JobParametersDB } from "../../src/db/os/job-parameters-db.ts";
import { OSDBConfigError, OSDBUnavailableError, osClientOptionsFromEnv } from "../../src/db/os/base.ts";
import { InvalidQueryError, type SearchSpec } from "../../src/db/os/query.ts";
import { FakeOpenSearch } from "../support/fake-opensearch.ts";
import { freePort } from "../support/ports.ts";

let os: FakeOpenSearch;
let db: JobParametersDB;

before(async () => {
  os = await FakeOpenSearch.start();
  db = JobParametersDB.fromEnv({ DIRACX_OS_DB_JOBPARAMETERSDB: JSON.stringify({ node: os.url, maxRetries: 0 }) });
});
after(async () => {
  await db.close();
  await os.stop();
});
beforeEach(() => os.clear());

function only() {
  assert.equal(os.requests.length, 1, `expected one request, got ${JSON.stringify(os.requests)}`);
  return os.requests[0]!;
}

describe("configuration", () => {
  it("names the variable when its JSON is invalid", () => {
    assert.throws(() => JobParametersDB.fromEnv({ DIRACX_OS_DB_JOBPARAMETERSDB: "{nope" }), (e: unknown) => {
      assert.ok(e instanceof OSDBConfigError);
      assert.match(e.message, /^DIRACX_OS_DB_JOBPARAMETERSDB is not valid JSON/);
      return true;
    });
  });
  it("names the variable when it is missing or not an object", () => {
    assert.throws(() => JobParametersDB.fromEnv({}), /DIRACX_OS_DB_JOBPARAMETERSDB is not set \(needed for JobParametersDB\)/);
    assert.throws(() => JobParametersDB.fromEnv({ DIRACX_OS_DB_JOBPARAMETERSDB: "[1]" }), /DIRACX_OS_DB_JOBPARAMETERSDB must be a JSON object/);
  });
  it("accepts DiracX (Python) style options", () => {
    const o = osClientOptionsFromEnv("JobParametersDB", {
      DIRACX_OS_DB_JOBPARAMETERSDB: JSON.stringify({ hosts: "u:p@h:9200", use_ssl: true, verify_certs: false, http_auth: ["a", "b"] }),
    });
    assert.deepEqual(o, { node: ["https://u:p@h:9200"], auth: { username: "a", password: "b" }, ssl: { rejectUnauthorized: false } });
  });
});

describe("index naming and template", () => {
  it("puts a job in job_parameters_<vo lower>_<id div 1e6>m", () => {
    assert.equal(db.indexName("LHCb", 1234567), "job_parameters_lhcb_1m");
    assert.equal(db.indexName("lhcb", 999_999), "job_parameters_lhcb_0m");
    assert.equal(db.indexName("lhcb", 12_000_000), "job_parameters_lhcb_12m");
    assert.throws(() => db.indexName("bad vo", 1), InvalidQueryError);
  });

  it("creates the index template with DiracX's mapping", async () => {
    await db.createIndexTemplate();
    const r = only();
    // The client uses POST; OpenSearch accepts PUT and POST for this endpoint.
    assert.ok(r.method === "PUT" || r.method === "POST");
    assert.equal(r.path, "/_index_template/job_parameters_");
    const body = r.body as { index_patterns: string[]; template: { mappings: { properties: Record<string, { type: string }> } } };
    assert.deepEqual(body.index_patterns, ["job_parameters_*"]);
    const props = body.template.mappings.properties;
    for (const f of ["JobID", "CPUNormalizationFactor", "NormCPUTime(s)", "Memory(MB)", "TotalCPUTime(s)", "PayloadPID"]) assert.equal(props[f]?.type, "long", f);
    assert.equal(props.timestamp?.type, "date");
    assert.equal(props.HostName?.type, "text");
    for (const f of ["PilotAgent", "Pilot_Reference", "JobGroup", "LocalAccount", "GridCE", "CEQueue", "BatchSystem", "ModelName", "Status", "JobType"]) {
      assert.equal(props[f]?.type, "keyword", f);
    }
  });
});

describe("upsert", () => {
  it("sends a doc-as-upsert update with retry_on_conflict, stamped with JobID and timestamp", async () => {
    const before = Date.now();
    await db.upsert("LHCb", 1234567, { Status: "Running", "Memory(MB)": 512 });
    const r = only();
    assert.equal(r.method, "POST");
    assert.equal(r.path, "/job_parameters_lhcb_1m/_update/1234567");
    assert.equal(r.query.retry_on_conflict, "10");
    const body = r.body as { doc: Record<string, unknown>; doc_as_upsert: boolean };
    assert.equal(body.doc_as_upsert, true);
    assert.equal(body.doc.JobID, 1234567);
    assert.equal(body.doc.Status, "Running");
    assert.equal(body.doc["Memory(MB)"], 512);
    // ISO-8601 with a zone: unambiguous for a date field and when read back.
    assert.match(String(body.doc.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Date.parse(String(body.doc.timestamp)) >= before - 1000);
  });

  it("bulk-upserts through _bulk with one update action per job", async () => {
    os.respond((r) => (r.path === "/_bulk" ? { status: 200, body: { took: 1, errors: false, items: [] } } : undefined));
    await db.bulkUpsert([
      { vo: "lhcb", jobId: 1, params: { Status: "Done" } },
      { vo: "Belle", jobId: 2_000_001, params: { Status: "Killed" } },
    ]);
    const r = only();
    assert.equal(r.path, "/_bulk");
    const lines = r.body as unknown[];
    assert.deepEqual(lines[0], { update: { _index: "job_parameters_lhcb_0m", _id: "1", retry_on_conflict: 10 } });
    assert.equal((lines[1] as { doc_as_upsert: boolean }).doc_as_upsert, true);
    assert.deepEqual((lines[1] as { doc: Record<string, unknown> }).doc.Status, "Done");
    assert.deepEqual(lines[2], { update: { _index: "job_parameters_belle_2m", _id: "2000001", retry_on_conflict: 10 } });
    assert.equal((lines[3] as { doc: Record<string, unknown> }).doc.JobID, 2000001);
  });

  it("fails a bulk upsert whose items failed, naming the first", async () => {
    os.respond((r) =>
      r.path === "/_bulk"
        ? { status: 200, body: { took: 1, errors: true, items: [{ update: { _index: "job_parameters_lhcb_0m", _id: "1", status: 400, error: { type: "mapper_parsing_exception" } } }] } }
        : undefined,
    );
    await assert.rejects(db.bulkUpsert([{ vo: "lhcb", jobId: 1, params: { PayloadPID: "x" } }]), /1 of 1 documents failed; first: job_parameters_lhcb_0m\/1: .*mapper_parsing_exception/);
  });

  it("reports an unreachable cluster as OSDBUnavailableError", async () => {
    const dead = new JobParametersDB({ node: `http://127.0.0.1:${await freePort()}`, maxRetries: 0 });
    try {
      await assert.rejects(dead.upsert("lhcb", 1, { Status: "Done" }), OSDBUnavailableError);
    } finally {
      await dead.close();
    }
  });
});

describe("search", () => {
  async function bodyOf(search: SearchSpec[], sorts: Parameters<JobParametersDB["search"]>[2] = [], paging = {}) {
    os.clear();
    await db.search(null, search, sorts, paging);
    const r = only();
    assert.equal(r.path, "/job_parameters_*/_search");
    return r.body as { query: { bool: { must: unknown[]; must_not: unknown[] } }; sort: unknown[]; from: number; size: number; _source: unknown };
  }

  it("translates eq / neq to term (must / must_not)", async () => {
    let b = await bodyOf([{ parameter: "Status", operator: "eq", value: "Done" }]);
    assert.deepEqual(b.query.bool, { must: [{ term: { Status: { value: "Done" } } }], must_not: [] });
    b = await bodyOf([{ parameter: "JobID", operator: "neq", value: 5 }]);
    assert.deepEqual(b.query.bool, { must: [], must_not: [{ term: { JobID: { value: 5 } } }] });
  });

  it("translates gt / lt to range on long and date (dates as ISO)", async () => {
    const b = await bodyOf([
      { parameter: "PayloadPID", operator: "gt", value: 10 },
      { parameter: "timestamp", operator: "lt", value: new Date("2024-05-01T12:00:00Z") },
      { parameter: "timestamp", operator: "gt", value: 1714560000000 },
    ]);
    assert.deepEqual(b.query.bool.must, [
      { range: { PayloadPID: { gt: 10 } } },
      { range: { timestamp: { lt: "2024-05-01T12:00:00.000Z" } } },
      { range: { timestamp: { gt: "2024-05-01T10:40:00.000Z" } } },
    ]);
  });

  it("translates in / not in to terms", async () => {
    const b = await bodyOf([
      { parameter: "Status", operator: "in", values: ["Done", "Failed"] },
      { parameter: "JobID", operator: "not in", values: [1, "2"] },
    ]);
    assert.deepEqual(b.query.bool, { must: [{ terms: { Status: ["Done", "Failed"] } }], must_not: [{ terms: { JobID: [1, 2] } }] });
  });

  it("sorts and pages", async () => {
    const b = await bodyOf([], [{ parameter: "JobID", direction: "desc" }, { parameter: "timestamp", direction: "asc" }], { perPage: 20, page: 3 });
    assert.deepEqual(b.sort, [{ JobID: { order: "desc" } }, { timestamp: { order: "asc" } }]);
    assert.equal(b.from, 40);
    assert.equal(b.size, 20);
    assert.equal(b._source, true);
  });

  it("selects the requested parameters", async () => {
    await db.search(["JobID", "Status"], [], []);
    assert.deepEqual((only().body as { _source: unknown })._source, ["JobID", "Status"]);
  });

  it("refuses unknown fields, operators, and unsupported combinations without a request", async () => {
    const bad: Array<[SearchSpec[], RegExp]> = [
      [[{ parameter: "Nope", operator: "eq", value: 1 }], /unknown field 'Nope'/],
      [[{ parameter: "Status", operator: "like" as "eq", value: "D%" }], /unknown operator 'like' on 'Status'/],
      [[{ parameter: "Status", operator: "regex" as "eq", value: "D.*" }], /unknown operator 'regex'/],
      [[{ parameter: "HostName", operator: "eq", value: "h" }], /operator 'eq' is not supported on text field 'HostName'/],
      [[{ parameter: "Status", operator: "gt", value: "A" }], /operator 'gt' is not supported on keyword field 'Status'/],
      [[{ parameter: "JobID", operator: "eq", value: "abc" }], /field 'JobID' is a long/],
      [[{ parameter: "timestamp", operator: "lt", value: "2024-01-01T10:00:00" }], /needs a time zone/],
    ];
    for (const [search, re] of bad) {
      await assert.rejects(db.search(null, search, []), (e: unknown) => e instanceof InvalidQueryError && re.test(e.message));
    }
    await assert.rejects(db.search(null, [], [{ parameter: "HostName", direction: "asc" }]), /cannot sort on text field 'HostName'/);
    await assert.rejects(db.search(null, [], [], { page: 0 }), /page must be an integer ≥ 1/);
    assert.equal(os.requests.length, 0);
  });

  it("returns the total and documents with dates as Date, whether stored as epoch ms or ISO", async () => {
    os.respond((r) =>
      r.path.endsWith("/_search")
        ? {
            status: 200,
            body: {
              took: 1,
              timed_out: false,
              hits: {
                total: { value: 42, relation: "eq" },
                hits: [
                  { _index: "job_parameters_lhcb_0m", _id: "1", _source: { JobID: 1, timestamp: 1714557600000, Status: "Done" } },
                  { _index: "job_parameters_lhcb_0m", _id: "2", _source: { JobID: 2, timestamp: "2024-05-01T10:00:00.000Z", Extra: "x" } },
                ],
              },
            },
          }
        : undefined,
    );
    const res = await db.search(null, [], []);
    assert.equal(res.total, 42);
    assert.deepEqual(res.results, [
      { JobID: 1, timestamp: new Date("2024-05-01T10:00:00Z"), Status: "Done" },
      { JobID: 2, timestamp: new Date("2024-05-01T10:00:00Z"), Extra: "x" },
    ]);
  });
});
