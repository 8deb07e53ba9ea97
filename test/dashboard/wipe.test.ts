// The overview shows the last broker wipe the scheduler recorded (wipe accounting) and how many
// queued tasks it lost, from the same TaskDB rows `status` reads.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { closeAllEngines, getEngine } from "../../src/db/sql/engine.ts";
import { TaskDB } from "../../src/db/sql/task-db.ts";
import { lastBrokerWipe } from "../../src/ops/broker-wipes.ts";
import { liveValues, type Snapshot } from "../../src/dashboard/live.ts";
import { overviewPage } from "../../src/dashboard/views.ts";

describe("dashboard: the last broker wipe on the overview", () => {
  const url = "pglite://memory#dashboard-wipe";
  let taskDB: TaskDB;
  before(async () => {
    await TaskDB.migrate(url);
    taskDB = new TaskDB(getEngine(url));
  });
  after(closeAllEngines);

  const snapshot = async (): Promise<Snapshot> => ({
    at: Date.parse("2026-12-02T10:00:00Z"),
    queues: [],
    oldestWaitingAt: { small: null, medium: null, large: null },
    deadLettersByVo: null,
    outbox: 0,
    epoch: "e2",
    lastWipe: await lastBrokerWipe(taskDB),
    completedPerMinute: [],
    failedPerMinute: [],
  });

  it("says none before any wipe, then when and how many tasks a wipe lost", async () => {
    assert.equal(liveValues(await snapshot(), undefined).wipe, "none recorded");
    const lost = [{ size: "small" as const, waiting: { realtime: 0, normal: 40, background: 2 }, delayed: 5, running: 0, waitingChildren: 0 }];
    assert.equal(await taskDB.recordBrokerWipe({ epoch: "e2", previousEpoch: "e1", snapshotAt: new Date("2026-12-02T09:59:30Z"), lost, lostTotal: 47 }), true);
    const s = await snapshot();
    const text = liveValues(s, undefined).wipe ?? "";
    assert.match(text, /^\d{4}-\d\d-\d\dT.*: 47 tasks lost \(snapshot of 2026-12-02T09:59:30\.000Z\)$/);
    const page = String(overviewPage({ root: "/dashboard", csrf: "x", user: { name: "op", vo: "lhcb", group: "lhcb_admin", canWrite: false, allVos: true } }, s, undefined));
    assert.match(page, /<dt>Last broker wipe<\/dt><dd data-live="wipe">[^<]*47 tasks lost/);
  });
});
