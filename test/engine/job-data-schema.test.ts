// docs/job-data.schema.json is what other producers (a Python DiracX router with BullMQ's Python
// client) write task jobs against. It is generated from the zod schema the worker validates with
// (src/engine/job-validation.ts), so the two cannot drift: this test fails when the file is stale,
// and checks that a validator built from the file alone accepts and refuses what the worker does.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { z } from "zod";
import { SCHEMA_FILE, renderJobDataSchema } from "../../scripts/job-data-schema.ts";
import { commonShape, jobDataSchema, JOB_DATA_VERSION, readJobData } from "../../src/engine/job-validation.ts";
import { newTaskJobData } from "../../src/engine/producer.ts";

test("docs/job-data.schema.json is current (regenerate: npm run docs:job-data-schema)", () => {
  assert.equal(fs.readFileSync(SCHEMA_FILE, "utf8"), renderJobDataSchema(), "docs/job-data.schema.json is stale: run `npm run docs:job-data-schema`");
});

test("a validator built from the published file agrees with the worker's", () => {
  const fromFile = z.fromJSONSchema(JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8")) as never);
  const now = Date.now();
  const samples: [string, unknown, boolean][] = [
    ["what the producer writes", newTaskJobData({ name: "x" }, { vo: "lhcb" }, "parent-1"), true],
    ["what the producer writes for a fresh task", newTaskJobData({ name: "x" }, {}), true],
    ["the smallest a Python producer may write", { v: JOB_DATA_VERSION, args: { job_ids: [1, 2] }, meta: { firstSubmittedAt: now } }, true],
    ["without the version", { args: {}, meta: { firstSubmittedAt: now } }, true],
    ["with a meta field of a later release", { args: {}, meta: { firstSubmittedAt: now, lineage: ["a"] } }, true],
    ["a fan-out callback", { args: {}, meta: { firstSubmittedAt: now }, fanout: { groupId: "g", requireAllSuccess: true, children: [["t1", "a:B"]] } }, true],
    ["an unknown top-level field", { args: {}, meta: { firstSubmittedAt: now }, evil: 1 }, false],
    ["no meta (a fresh task)", { v: JOB_DATA_VERSION, args: { i: 1 } }, true],
    ["meta without its first submission", { args: {}, meta: { labels: { vo: "lhcb" } } }, true],
    ["meta not an object", { args: {}, meta: [] }, false],
    ["args not an object", { args: [1], meta: { firstSubmittedAt: now } }, false],
    ["a label that is not a string", { args: {}, meta: { firstSubmittedAt: now, labels: { vo: 1 } } }, false],
    ["another layout version", { v: 2, args: {}, meta: { firstSubmittedAt: now } }, false],
    ["a malformed history record", { args: {}, meta: { firstSubmittedAt: now, history: [{ attempt: 0 }] } }, false],
  ];
  for (const [what, doc, valid] of samples) {
    assert.equal(jobDataSchema.safeParse(doc).success, valid, `worker: ${what}`);
    assert.equal(fromFile.safeParse(doc).success, valid, `published schema: ${what}`);
  }
});

test("the worker's fast path for the common shape gives what the schema gives, or defers to it", () => {
  const now = Date.now();
  const docs: unknown[] = [
    JSON.parse(JSON.stringify(newTaskJobData({ name: "x" }, { vo: "lhcb" }, "parent-1"))),
    { v: 1, args: { a: 1 }, meta: { firstSubmittedAt: now } },
    { args: {}, meta: { firstSubmittedAt: now, labels: {}, deferrals: 2, history: [], deferredSince: now, lineage: ["a"] } },
    { args: {}, meta: { firstSubmittedAt: now, history: [{ attempt: 1, startedAt: now, durationMs: 3, outcome: "failed" }] } },
    { args: {}, meta: { firstSubmittedAt: now, trace: { traceparent: "00-ab-cd-01", extra: 1 } } },
    { args: {}, meta: { firstSubmittedAt: now, labels: {}, deferrals: 0, history: [], trace: { traceparent: "00-ab-cd-01", tracestate: "x=1" } } },
    { args: {}, meta: { firstSubmittedAt: now }, fanout: { groupId: "g", requireAllSuccess: false, children: [] } },
    { args: {}, meta: { firstSubmittedAt: now, labels: { vo: 1 } } },
    { args: {}, meta: { firstSubmittedAt: now, deferrals: -1 } },
    { args: {}, meta: { firstSubmittedAt: now, deferrals: 1.5 } },
    { args: {}, meta: { firstSubmittedAt: "yesterday" } },
    { args: {}, meta: { firstSubmittedAt: now, parentTaskId: 7 } },
    { args: [], meta: { firstSubmittedAt: now } },
    { v: 2, args: {}, meta: { firstSubmittedAt: now } },
    { args: {}, meta: { firstSubmittedAt: now }, evil: 1 },
    { args: {} },
    JSON.parse(JSON.stringify(newTaskJobData({ i: 1 }, {}))),
    { args: {}, meta: { labels: { vo: "lhcb" } } },
    { args: {}, meta: { labels: { vo: "lhcb" }, history: [{ attempt: 1, startedAt: now, durationMs: 3, outcome: "failed" }] } },
    { args: {}, meta: [] },
  ];
  const timestamp = now - 1_000;
  let fast = 0;
  for (const doc of docs) {
    const viaFastPath = commonShape(doc as Record<string, unknown>, timestamp);
    const read = readJobData(doc as Record<string, unknown>, timestamp);
    assert.equal(read.ok, jobDataSchema.safeParse(doc).success, `readJobData agrees with the schema: ${JSON.stringify(doc)}`);
    if (read.ok) {
      // What a producer left out is filled in: a fresh task's defaults, first submitted at the job's timestamp.
      assert.equal(read.data.meta.firstSubmittedAt, (doc as { meta?: { firstSubmittedAt?: number } }).meta?.firstSubmittedAt ?? timestamp, JSON.stringify(doc));
      assert.ok(Array.isArray(read.data.meta.history) && typeof read.data.meta.deferrals === "number" && typeof read.data.meta.labels === "object", JSON.stringify(doc));
    }
    if (viaFastPath === undefined) continue;
    fast++;
    assert.ok(read.ok, `fast path accepted what the schema refuses: ${JSON.stringify(doc)}`);
    // The fast path gives what the schema and the defaults give.
    const parsed = jobDataSchema.safeParse(doc);
    assert.ok(parsed.success);
    const expected = { ...parsed.data, meta: { firstSubmittedAt: timestamp, labels: {}, deferrals: 0, history: [], ...parsed.data.meta } };
    assert.deepEqual(viaFastPath, expected, JSON.stringify(doc));
  }
  assert.equal(fast, 7, "the producer's own shapes take the fast path");
});
