import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { JOB_TRANSITIONS, UnknownJobStatusError, nextState } from "../../src/logic/jobs/state-machine.ts";
import { ALL_JOB_STATUSES, JobStatus } from "../../src/logic/jobs/status.ts";

describe("job state machine", () => {
  it("knows Scouting, reachable from Received and Checking", () => {
    assert.ok(ALL_JOB_STATUSES.includes("Scouting"));
    assert.equal(nextState("Received", "Scouting"), "Scouting");
    assert.equal(nextState("Checking", "Scouting"), "Scouting");
    assert.equal(nextState("Scouting", "Checking"), "Checking");
    assert.equal(nextState("Scouting", "Running"), "Scouting");
  });

  it("follows the table for every pair, keeping the current state on refusal", () => {
    for (const cur of ALL_JOB_STATUSES) {
      for (const cand of ALL_JOB_STATUSES) {
        const allowed = JOB_TRANSITIONS[cur];
        const expected = allowed === undefined || allowed.includes(cand) ? cand : cur;
        assert.equal(nextState(cur, cand), expected, `${cur} → ${cand}`);
      }
    }
  });

  it("lets Deleted go anywhere and final states only to Deleted (or Failed → Rescheduled)", () => {
    assert.equal(nextState("Deleted", "Running"), "Running");
    assert.equal(nextState("Done", "Running"), "Done");
    assert.equal(nextState("Done", "Deleted"), "Deleted");
    assert.equal(nextState("Killed", "Received"), "Killed");
    assert.equal(nextState("Failed", "Rescheduled"), "Rescheduled");
    assert.equal(nextState(JobStatus.Running, JobStatus.Received), "Received");
  });

  it("refuses unknown statuses", () => {
    assert.throws(() => nextState("Running", "Sleeping"), (e: unknown) => e instanceof UnknownJobStatusError && /'Sleeping'/.test(e.message));
    assert.throws(() => nextState("Zombie", "Running"), UnknownJobStatusError);
  });
});
