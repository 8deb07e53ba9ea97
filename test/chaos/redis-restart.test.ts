// Redis restarted under load, short: workers reconnect by themselves; every task ran, none lost.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run } from "../../chaos/scenarios/redis-restart.ts";

process.env.CHAOS_QUIET = "1";

describe("chaos: Redis restart under load (short)", () => {
  it("200 tasks, Redis down 2 s midway: every task ran, none lost, no silent failure", async () => {
    const f = await run({ tasks: 200, workers: 2, concurrency: 2, "min-ms": 20, "max-ms": 80, "restart-after": 50, "down-ms": 2000, "job-lock-ms": 2000, "timeout-s": 600 });
    assert.equal(f.drained!.value, 1);
    assert.ok(f.resume_ms!.value >= 0, "work resumed after the restart");
    assert.equal(f.lost!.value, 0);
    assert.equal(f.silent_failures!.value, 0);
    assert.equal(f.completed!.value, 200);
  });
});
