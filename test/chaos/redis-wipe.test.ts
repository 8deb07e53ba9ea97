// A broker wipe under load, short: only what was queued in Redis can be lost, and the workers
// carry on: every task submitted after the wipe runs.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run } from "../../chaos/scenarios/redis-wipe.ts";

process.env.CHAOS_QUIET = "1";

describe("chaos: Redis wipe under load (short)", () => {
  it("FLUSHALL with tasks queued: no loss beyond what was queued; every later task runs", async () => {
    const f = await run({ tasks: 200, delayed: 10, after: 50, workers: 1, concurrency: 2, "min-ms": 20, "max-ms": 50, "wipe-after": 40, "job-lock-ms": 2000, "timeout-s": 600 });
    assert.ok(f.queued_at_wipe!.value > 0, "the wipe found tasks queued");
    assert.equal(f.lost_beyond_queued!.value, 0);
    assert.equal(f.after_wipe_lost!.value, 0);
    assert.equal(f.after_wipe_silent_failures!.value, 0);
    assert.equal(f.workers_alive!.value, 1);
  });
});
