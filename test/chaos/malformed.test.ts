// Malformed jobs injected straight onto a queue, short: none fails unseen, the worker keeps
// running and every good task after them runs.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { run } from "../../chaos/scenarios/malformed.ts";

process.env.CHAOS_QUIET = "1";

describe("chaos: malformed jobs (short)", () => {
  it("bad args, unknown fields, no meta, non-JSON, 10 MiB, unknown task: each told, the worker carries on", async () => {
    const f = await run({ copies: 1, after: 20, workers: 1, "job-lock-ms": 3000, "timeout-s": 300 });
    assert.equal(f.injected!.value, 6);
    assert.equal(f.after_lost!.value, 0);
    assert.equal(f.workers_alive!.value, 1);
    assert.equal(f["unknown-task.body_ran"]!.value, 0);
    assert.equal(f["unknown-task.dead_lettered"]!.value, 1);
    assert.equal(f.silent_failures!.value, 0);
  });
});
