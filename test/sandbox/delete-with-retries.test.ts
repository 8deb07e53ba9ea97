import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { deleteWithRetries as deleteWithRetriesLoud, DirectorySandboxStore, type DeleteWithRetriesOptions, type DeleteObjectsResult, type SandboxStore } from "../../src/sandbox/index.ts";
import { S3SandboxStore } from "../../src/sandbox/s3-store.ts";
import { S3Server } from "../support/s3.ts";

/**
 * A test double AROUND a real store: the chosen keys fail their first N delete attempts
 * (as S3 reports a per-key InternalError/SlowDown), every other key goes to the real store.
 * It records which keys each call asked for, to show that only failed keys are retried.
 */
class FailingKeys implements SandboxStore {
  readonly calls: string[][] = [];
  private readonly remaining: Map<string, number>;
  constructor(
    private readonly inner: SandboxStore,
    failures: Record<string, number>,
  ) {
    this.remaining = new Map(Object.entries(failures));
  }
  get description(): string {
    return `failing(${this.inner.description})`;
  }
  async deleteObjects(keys: readonly string[]): Promise<DeleteObjectsResult> {
    this.calls.push([...keys]);
    const failing = keys.filter((k) => (this.remaining.get(k) ?? 0) > 0);
    for (const k of failing) this.remaining.set(k, (this.remaining.get(k) ?? 0) - 1);
    const real = await this.inner.deleteObjects(keys.filter((k) => !failing.includes(k)));
    return { deleted: real.deleted, failed: [...real.failed, ...failing.map((key) => ({ key, error: "InternalError: We encountered an internal error" }))] };
  }
  putObject(key: string, body: string | Uint8Array): Promise<void> {
    return this.inner.putObject(key, body);
  }
  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

// The retry warnings are the code's normal output; keep them out of the test report.
const quiet = pino({ level: "silent" });
const deleteWithRetries = (store: SandboxStore, keys: string[], opts: DeleteWithRetriesOptions = {}): Promise<DeleteObjectsResult> =>
  deleteWithRetriesLoud(store, keys, { logger: quiet, ...opts });

/** Records the requested delays instead of waiting them out. */
function recordingSleep(): { sleep: (ms: number) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return { delays, sleep: async (ms) => void delays.push(ms) };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-sbretry-"));
let s3: S3Server;
before(async () => {
  s3 = await S3Server.start(["sandboxes"]);
});
after(async () => {
  await s3.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("deleteWithRetries", () => {
  test("retries only the failed keys, with a doubling delay, until they are deleted", async () => {
    const real = new DirectorySandboxStore(path.join(tmp, "a"));
    const keys = ["k/1", "k/2", "k/3", "k/4"];
    for (const k of keys) await real.putObject(k, "x");
    const store = new FailingKeys(real, { "k/2": 2, "k/4": 1 });
    const { sleep, delays } = recordingSleep();

    const result = await deleteWithRetries(store, keys, { sleep, baseDelayMs: 1000 });

    assert.deepEqual(result.failed, []);
    assert.deepEqual([...result.deleted].sort(), keys);
    assert.deepEqual(store.calls, [keys, ["k/2", "k/4"], ["k/2"]]);
    assert.deepEqual(delays, [1000, 2000]);
    for (const k of keys) assert.equal(await real.exists(k), false);
  });

  test("a key that keeps failing is reported failed after the last attempt; the others are deleted", async () => {
    const real = new DirectorySandboxStore(path.join(tmp, "b"));
    await real.putObject("ok", "x");
    await real.putObject("stuck", "x");
    const store = new FailingKeys(real, { stuck: 100 });
    const { sleep, delays } = recordingSleep();

    const result = await deleteWithRetries(store, ["ok", "stuck"], { sleep, attempts: 5, baseDelayMs: 1000 });

    assert.deepEqual(result.deleted, ["ok"]);
    assert.deepEqual(result.failed, [{ key: "stuck", error: "InternalError: We encountered an internal error" }]);
    assert.equal(store.calls.length, 5);
    assert.deepEqual(store.calls.slice(1), [["stuck"], ["stuck"], ["stuck"], ["stuck"]]);
    assert.deepEqual(delays, [1000, 2000, 4000, 8000]);
    assert.equal(await real.exists("stuck"), true, "a failed key's file is left for the next run");
  });

  test("a real, persistent store failure (a key naming a directory) is reported with the store's error", async () => {
    const real = new DirectorySandboxStore(path.join(tmp, "c"));
    await real.putObject("vo/group/user/file", "x");
    const { sleep, delays } = recordingSleep();
    const result = await deleteWithRetries(real, ["vo/group"], { sleep, attempts: 3, baseDelayMs: 10 });
    assert.deepEqual(result.deleted, []);
    assert.equal(result.failed[0]?.key, "vo/group");
    assert.match(result.failed[0]?.error ?? "", /directory|EISDIR/i);
    assert.deepEqual(delays, [10, 20]);
  });

  test("a non-retryable failure is reported at once, without spending attempts", async () => {
    const store = new FailingKeys(new DirectorySandboxStore(path.join(tmp, "d")), {});
    const { sleep, delays } = recordingSleep();
    const result = await deleteWithRetries(store, ["../escape", "fine"], { sleep });
    assert.deepEqual(result.deleted, ["fine"]);
    assert.equal(result.failed[0]?.key, "../escape");
    assert.equal(store.calls.length, 1);
    assert.deepEqual(delays, []);
  });

  test("chunks are retried independently: a failure in one chunk does not resend the others", async () => {
    const real = new DirectorySandboxStore(path.join(tmp, "e"));
    const keys = ["c/1", "c/2", "c/3", "c/4", "c/5"];
    const store = new FailingKeys(real, { "c/5": 1 });
    const { sleep } = recordingSleep();
    const result = await deleteWithRetries(store, keys, { sleep, chunkSize: 2, concurrency: 1 });
    assert.deepEqual([...result.deleted].sort(), keys);
    assert.deepEqual(store.calls, [["c/1", "c/2"], ["c/3", "c/4"], ["c/5"], ["c/5"]]);
  });

  test("duplicate keys are sent once", async () => {
    const store = new FailingKeys(new DirectorySandboxStore(path.join(tmp, "f")), {});
    const result = await deleteWithRetries(store, ["x", "x", "y"], { sleep: async () => {} });
    assert.deepEqual(store.calls, [["x", "y"]]);
    assert.deepEqual(result.deleted, ["x", "y"]);
  });

  test("an aborted signal stops the retry loop with the abort reason", async () => {
    const store = new FailingKeys(new DirectorySandboxStore(path.join(tmp, "g")), { k: 10 });
    const controller = new AbortController();
    const reason = new Error("task timed out");
    await assert.rejects(
      deleteWithRetries(store, ["k"], {
        signal: controller.signal,
        sleep: async () => controller.abort(reason),
      }),
      (e: unknown) => e === reason,
    );
    assert.equal(store.calls.length, 1);
  });

  test("against S3: keys whose bucket is missing at first are deleted on retry once it exists", async () => {
    const store = new S3SandboxStore({ bucket: "late-bucket", clientConfig: s3.clientKwargs });
    const delays: number[] = [];
    // The "outage" ends during the back-off: the bucket appears and the retry goes through.
    const result = await deleteWithRetries(store, ["a/1", "a/2"], {
      baseDelayMs: 5,
      sleep: async (ms) => {
        delays.push(ms);
        await store.createBucketIfMissing();
      },
    });
    assert.deepEqual(result.failed, []);
    assert.deepEqual([...result.deleted].sort(), ["a/1", "a/2"]);
    assert.deepEqual(delays, [5]);
    await store.close();
  });

  test("uses the real timer when no sleep is injected", async () => {
    const store = new FailingKeys(new DirectorySandboxStore(path.join(tmp, "h")), { k: 1 });
    const result = await deleteWithRetries(store, ["k"], { baseDelayMs: 1 });
    assert.deepEqual(result.deleted, ["k"]);
    assert.equal(store.calls.length, 2);
  });
});
