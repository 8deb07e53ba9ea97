// Bounded payloads at the HTTP API (README "Bounded payloads"): arguments over
// DIRACX_TASKS_MAX_PAYLOAD_BYTES are refused with 413 and a {"detail"} line naming their size and
// the bound; a body larger than any allowed request is refused by the server itself, also 413.
// Over a real port.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { DiracxApp } from "../../src/http/app.ts";
import { bearer, setupHttpEnv, users, type HttpEnv } from "./support.ts";

describe("payload bound at the HTTP API", () => {
  let he: HttpEnv;
  let built: DiracxApp;
  let base: string;
  before(async () => {
    he = await setupHttpEnv({ extraEnv: { DIRACX_TASKS_MAX_PAYLOAD_BYTES: "1024" } });
    built = await he.build();
    base = await built.app.listen({ port: 0, host: "127.0.0.1" });
  });
  after(() => he.close());

  const submit = async (body: string) =>
    fetch(`${base}/api/tasks/submit`, { method: "POST", headers: { ...bearer(await he.token(users.operator)), "content-type": "application/json" }, body });

  test("arguments within the bound are accepted", async () => {
    const res = await submit(JSON.stringify({ task: "jobs:OptimizeJobsTask", args: { jobIds: [1, 2, 3] } }));
    assert.equal(res.status, 201);
  });

  test("arguments over the bound: 413 with one line naming size and bound; nothing queued", async () => {
    const before = await he.engine.producer.queue("small").getWaitingCount();
    const jobIds = Array.from({ length: 100 }, (_, i) => 123_456_789_000 + i); // valid, but 1.3 KiB
    const res = await submit(JSON.stringify({ task: "jobs:OptimizeJobsTask", args: { jobIds } }));
    const body = (await res.json()) as { detail: string };
    assert.equal(res.status, 413, body.detail);
    assert.match(body.detail, /^arguments of task 'jobs:OptimizeJobsTask' are 1\.3 KiB \(\d+ bytes\), over the 1\.0 KiB bound \(DIRACX_TASKS_MAX_PAYLOAD_BYTES\)/);
    assert.equal(await he.engine.producer.queue("small").getWaitingCount(), before);
  });

  test("a body larger than any allowed request: 413 from the server, also as {detail}", async () => {
    const res = await submit(JSON.stringify({ task: "jobs:OptimizeJobsTask", args: { jobIds: [], pad: "x".repeat(2 * 1024 * 1024) } }));
    assert.equal(res.status, 413);
    const body = (await res.json()) as { detail: string };
    assert.match(body.detail, /^request body too large: .* \(the bound follows DIRACX_TASKS_MAX_PAYLOAD_BYTES\)$/);
  });
});
