// PostgreSQL stopped under DB-writing tasks, short: every write committed exactly once, and the
// dead letters of tasks that failed during the outage all reach TaskDB afterwards.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run } from "../../chaos/scenarios/postgres-outage.ts";

process.env.CHAOS_QUIET = "1";

describe("chaos: PostgreSQL outage (short)", () => {
  it("200 writing tasks, 10 failing for good, PostgreSQL down 8 s: committed once each, 10/10 dead letters in TaskDB", async () => {
    const f = await run({ tasks: 200, doomed: 10, workers: 2, concurrency: 2, "down-s": 8, "outage-after": 40, "job-lock-ms": 3000, "timeout-s": 600 });
    assert.equal(f.worker_crashes!.value, 0, "no worker died of the outage");
    assert.equal(f.drained!.value, 1);
    assert.equal(f.committed_once!.value, 200);
    assert.equal(f.committed_more_than_once!.value, 0);
    assert.equal(f.dead_letters_in_taskdb!.value, 10);
    assert.equal(f.lost!.value, 0);
    assert.equal(f.silent_failures!.value, 0);
  });
});
