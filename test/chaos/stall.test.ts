// A long task under event-loop stalls, short: blocks shorter than the job lock never redeliver it;
// blocks longer do (at-least-once), and even then nothing is lost or fails unseen.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run } from "../../chaos/scenarios/stall.ts";

process.env.CHAOS_QUIET = "1";

describe("chaos: long task under event-loop stalls (short)", () => {
  it("blocks shorter than the job lock: the task runs exactly once", async () => {
    const f = await run({ tasks: 1, workers: 2, "block-ms": 500, blocks: 4, "job-lock-ms": 3000, "timeout-s": 600 });
    assert.equal(f.drained!.value, 1);
    assert.equal(f.executions!.value, 1);
    assert.equal(f.completed!.value, 1);
    assert.equal(f.lost!.value, 0);
    assert.equal(f.silent_failures!.value, 0);
  });

  it("a block longer than the job lock: the task is redelivered, and still nothing is lost or silent", async () => {
    const f = await run({ tasks: 1, workers: 2, "block-ms": 4000, blocks: 1, "job-lock-ms": 1500, "timeout-s": 600 });
    assert.equal(f.drained!.value, 1);
    assert.ok(f.executions!.value > 1, `redelivered (${f.executions!.value} executions)`);
    assert.equal(f.lost!.value, 0);
    assert.equal(f.silent_failures!.value, 0);
  });
});
