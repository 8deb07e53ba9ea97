// FixedDelayTimers: the one timer behind every attempt's timeout and lock extension.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FixedDelayTimers } from "../../src/engine/timer-queue.ts";

describe("engine: fixed-delay timers", () => {
  it("fires what was not cancelled, in the order it was set, and keeps firing past a throwing callback", async () => {
    const thrown: unknown[] = [];
    const timers = new FixedDelayTimers(20, (err) => thrown.push(err));
    const fired: string[] = [];
    {
      const done = new Promise<void>((resolve) => {
        timers.set(() => fired.push("a"));
        const cancelB = timers.set(() => fired.push("b"));
        timers.set(() => {
          fired.push("c");
          throw new Error("c threw");
        });
        timers.set(() => {
          fired.push("d");
          resolve();
        });
        cancelB();
      });
      await done;
      assert.deepEqual(fired, ["a", "c", "d"]);
      assert.deepEqual(thrown.map((e) => (e as Error).message), ["c threw"], "the throw is reported");
    }
  });

  it("a callback that sets itself again fires again a delay later (the lock extension)", async () => {
    const timers = new FixedDelayTimers(10);
    let n = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        if (++n < 3) timers.set(tick);
        else resolve();
      };
      timers.set(tick);
    });
    assert.equal(n, 3);
  });

  it("cancelling every entry leaves nothing that holds the process", async () => {
    const timers = new FixedDelayTimers(60_000);
    const before = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const cancel = timers.set(() => assert.fail("cancelled"));
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === "Timeout").length, before + 1, "held while pending");
    cancel();
    assert.equal(process.getActiveResourcesInfo().filter((r) => r === "Timeout").length, before, "released once none is pending");
  });
});
