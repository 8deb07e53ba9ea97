import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TQ_MIN_SHARE, calculatePriorities, type TaskQueueShape } from "../../src/logic/task-queues/priority.ts";

type TQ = TaskQueueShape & { tqId: number };
function tq(tqId: number, over: Partial<TaskQueueShape> = {}): TQ {
  return { tqId, Owner: "alice", OwnerGroup: "user", VO: "lhcb", CPUTime: 3600, Sites: [], GridCEs: [], BannedSites: [], Platforms: [], JobTypes: [], Tags: [], ...over };
}
const defs = (...tqs: TQ[]) => new Map(tqs.map((t) => [t.tqId, t]));
const asObject = (m: Map<number, number[]>) => Object.fromEntries([...m].map(([p, ids]) => [p.toFixed(6), ids]));

describe("task-queue priorities", () => {
  it("splits the share in proportion to the job priorities", () => {
    const r = calculatePriorities(new Map([[1, 1], [2, 3]]), defs(tq(1, { CPUTime: 1 }), tq(2, { CPUTime: 2 })), 1000, false);
    assert.deepEqual(asObject(r), { "250.000000": [1], "750.000000": [2] });
  });

  it("gives background queues the minimum when allowed, and only then", () => {
    const d = defs(tq(1, { CPUTime: 1 }), tq(2, { CPUTime: 2 }));
    const r = calculatePriorities(new Map([[1, 0.05], [2, 2]]), d, 100, true);
    assert.deepEqual(asObject(r), { [TQ_MIN_SHARE.toFixed(6)]: [1], "100.000000": [2] });
    const r2 = calculatePriorities(new Map([[1, 0.05], [2, 2]]), d, 100, false);
    assert.equal([...r2.keys()].length, 2);
    assert.ok(Math.abs([...r2].find(([, ids]) => ids.includes(1))![0] - (100 * 0.05) / 2.05) < 1e-9);
  });

  it("never divides by zero: all-zero priorities split the share evenly", () => {
    const r = calculatePriorities(new Map([[1, 0], [2, 0]]), defs(tq(1, { CPUTime: 1 }), tq(2, { CPUTime: 2 })), 1000, false);
    assert.deepEqual(asObject(r), { "500.000000": [1, 2] });
    for (const p of r.keys()) assert.ok(Number.isFinite(p));
  });

  it("floors tiny shares at the minimum", () => {
    const r = calculatePriorities(new Map([[1, 1], [2, 1e9]]), defs(tq(1, { CPUTime: 1 }), tq(2, { CPUTime: 2 })), 1, false);
    assert.deepEqual(r.get(TQ_MIN_SHARE), [1]);
  });

  it("gives queues that differ only in sites their summed priority", () => {
    const d = defs(tq(1, { Sites: ["A"] }), tq(2, { Sites: ["B"], BannedSites: ["C"] }), tq(3, { Platforms: ["el9"] }));
    const r = calculatePriorities(new Map([[1, 1], [2, 1], [3, 2]]), d, 400, false);
    assert.deepEqual(asObject(r), { "200.000000": [1, 2, 3] });
    const r2 = calculatePriorities(new Map([[1, 1], [2, 1], [3, 1]]), d, 300, false);
    assert.deepEqual(asObject(r2), { "200.000000": [1, 2], "100.000000": [3] });
  });
});
