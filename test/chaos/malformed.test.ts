// Malformed jobs injected straight onto a queue, short: the worker keeps running, every good task
// after them runs, a job naming an unknown task is refused and dead-lettered, and no other
// malformed job runs its body or fails unseen (the worker validates every job: job-validation.ts).
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Figures } from "../../chaos/_support.ts";
import { run } from "../../chaos/scenarios/malformed.ts";

process.env.CHAOS_QUIET = "1";

describe("chaos: malformed jobs (short)", () => {
  let f: Figures;
  before(async () => {
    f = await run({ copies: 1, after: 20, workers: 1, "job-lock-ms": 3000, "settle-s": 30, "timeout-s": 300 });
  });

  it("bad args, unknown fields, bad meta, non-JSON, 10 MiB, unknown task: the worker carries on and refuses the unknown task", () => {
    assert.equal(f.injected!.value, 6);
    assert.equal(f.after_lost!.value, 0);
    assert.equal(f.workers_alive!.value, 1);
    assert.equal(f["unknown-task.body_ran"]!.value, 0);
    assert.equal(f["unknown-task.logged"]!.value, 1);
    assert.equal(f["unknown-task.dead_lettered"]!.value, 1);
  });

  it("no malformed job runs its task body or fails unseen", () => {
    const summary = JSON.stringify(Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v.value])));
    assert.equal(f.body_ran!.value, 0, summary);
    assert.equal(f.unsettled!.value, 0, summary);
    assert.equal(f.silent_failures!.value, 0, summary);
  });
});
