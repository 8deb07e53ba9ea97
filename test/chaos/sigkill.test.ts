// The SIGKILL storm, short: real worker processes SIGKILLed under load lose nothing, and a task
// whose workers die past the stalled limit fails for good only through the outcome step (logged,
// dead-lettered in TaskDB). The full-size run is `npm run chaos -- sigkill`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { account, Stack, until } from "../../chaos/_support.ts";
import { LEDGER } from "../../chaos/app/tasks.ts";
import { run } from "../../chaos/scenarios/sigkill.ts";
import { TasksSettings } from "../../src/settings.ts";

process.env.CHAOS_QUIET = "1";

describe("chaos: SIGKILL storm (short)", () => {
  it("200 tasks, a worker SIGKILLed every 2–3 s (4 kills): every task ran, none lost, no silent failure", async () => {
    const f = await run({
      tasks: 200,
      workers: 2,
      concurrency: 2,
      "min-ms": 50,
      "max-ms": 200,
      "kill-min-ms": 2000,
      "kill-max-ms": 3000,
      kills: 4,
      "job-lock-ms": 2000,
      "max-stalled": 0,
      "timeout-s": 600,
    });
    assert.equal(f.drained!.value, 1);
    assert.ok(f.kills!.value >= 1, "workers were killed under load");
    assert.equal(f.lost!.value, 0);
    assert.equal(f.silent_failures!.value, 0);
    assert.equal(f.completed!.value + f.failed_for_good!.value, 200);
    assert.equal(f.failed_for_good_logged!.value, f.failed_for_good!.value);
    assert.equal(f.failed_for_good_in_taskdb!.value, f.failed_for_good!.value);
  });

  it("repeated worker death fails a task for good only past a high stalled limit, and then through the outcome step: logged and dead-lettered", async () => {
    assert.equal(TasksSettings.fromEnv({}).maxStalledCount, 10, "the default survives a crash-looping deployment");
    // A stalled limit of 1: the task's second worker death fails it for good.
    const stack = await Stack.start({ workers: 1, concurrency: 1, jobLockMs: 1000, maxStalled: 1 });
    try {
      await stack.workersOnline(1);
      const submitted = await stack.submit("chaos:Work", [{ n: 0, ms: 600_000 }]);
      const [taskId] = [...submitted.keys()];
      for (let death = 1; death <= 2; death++) {
        await until(`execution ${death} started`, async () => Number(await stack.ledger.hget(LEDGER.starts, "0")) >= death, 120_000);
        stack.pool.killAll();
      }
      await until("the task failed for good", () => stack.pool.failures.has(taskId!), 120_000);
      const a = await account(stack, submitted);
      assert.equal(a.lost, 0);
      assert.equal(a.silentFailures, 0);
      assert.deepEqual(a.failedIds, [taskId]);
      assert.equal(stack.pool.failures.get(taskId!)?.reason, "stalled limit");
      assert.equal(a.failedInTaskDB, 1, "dead-lettered in TaskDB");
    } finally {
      await stack.close();
    }
  });
});
