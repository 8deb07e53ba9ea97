import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { S3Client, DeleteObjectsCommand } from "@aws-sdk/client-s3";
import { DirectorySandboxStore, SandboxStoreError, openSandboxStore, type SandboxStore } from "../../src/sandbox/index.ts";
import { S3SandboxStore, S3_MAX_KEYS_PER_DELETE } from "../../src/sandbox/s3-store.ts";
import { S3Server } from "../support/s3.ts";

let s3: S3Server;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-sbstore-"));

before(async () => {
  s3 = await S3Server.start(["sandboxes"]);
});
after(async () => {
  await s3.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const key = (i: number): string => `lhcb/lhcb_user/alice/sha256:${i.toString(16).padStart(64, "0")}.tar.bz2`;

// The same contract, checked against both implementations.
for (const kind of ["directory", "s3"] as const) {
  describe(`${kind} store: the SandboxStore contract`, () => {
    let store: SandboxStore;
    before(async () => {
      store =
        kind === "s3"
          ? await openSandboxStore({ bucketName: "sandboxes", s3ClientKwargs: s3.clientKwargs })
          : await openSandboxStore({ directory: path.join(tmp, "contract") });
    });
    after(async () => store.close());

    test("put, exists, delete; a missing key counts as deleted", async () => {
      await store.putObject(key(1), "one");
      await store.putObject(key(2), new Uint8Array([1, 2, 3]));
      assert.equal(await store.exists(key(1)), true);
      assert.equal(await store.exists(key(3)), false);

      const result = await store.deleteObjects([key(1), key(2), key(3)]);
      assert.deepEqual(result.failed, []);
      assert.deepEqual([...result.deleted].sort(), [key(1), key(2), key(3)]);
      assert.equal(await store.exists(key(1)), false);
      assert.equal(await store.exists(key(2)), false);
    });

    test("an empty key list deletes nothing", async () => {
      assert.deepEqual(await store.deleteObjects([]), { deleted: [], failed: [] });
    });
  });
}

describe("S3SandboxStore", () => {
  test("splits a large delete into DeleteObjects requests of at most 1000 keys, all reported", async () => {
    const client = new S3Client(s3.clientKwargs);
    const requestSizes: number[] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Delete?: { Objects?: unknown[] } };
        if (input.Delete?.Objects) requestSizes.push(input.Delete.Objects.length);
        return next(args);
      },
      { step: "initialize", name: "countDeleteKeys" },
    );
    const store = new S3SandboxStore({ bucket: "sandboxes", client, maxConcurrentRequests: 2 });
    const keys = Array.from({ length: 2050 }, (_, i) => key(i));
    for (const k of keys.slice(0, 5)) await store.putObject(k, "x");
    for (const k of keys.slice(-3)) await store.putObject(k, "x");

    const result = await store.deleteObjects(keys);
    assert.deepEqual(result.failed, []);
    assert.equal(result.deleted.length, 2050);
    assert.deepEqual([...requestSizes].sort((a, b) => b - a), [S3_MAX_KEYS_PER_DELETE, S3_MAX_KEYS_PER_DELETE, 50]);
    for (const k of [...keys.slice(0, 5), ...keys.slice(-3)]) assert.equal(await store.exists(k), false, k);
    client.destroy();
  });

  test("a failed request reports every key of it as failed, with the S3 error", async () => {
    const store = new S3SandboxStore({ bucket: "no-such-bucket", clientConfig: s3.clientKwargs });
    const result = await store.deleteObjects([key(1), key(2)]);
    assert.deepEqual(result.deleted, []);
    assert.deepEqual(
      result.failed.map((f) => f.key),
      [key(1), key(2)],
    );
    assert.match(result.failed[0]?.error ?? "", /NoSuchBucket/);
    await store.close();
  });

  test("createBucketIfMissing creates the bucket once and is idempotent", async () => {
    const store = new S3SandboxStore({ bucket: "fresh-bucket", clientConfig: s3.clientKwargs });
    await store.createBucketIfMissing();
    await store.createBucketIfMissing();
    await store.putObject("a/b", "x");
    assert.equal(await store.exists("a/b"), true);
    await store.close();
  });

  test("refuses to be built without a bucket, naming the variable", () => {
    assert.throws(() => new S3SandboxStore({ bucket: "" }), (e: unknown) => e instanceof SandboxStoreError && /DIRACX_SANDBOX_STORE_BUCKET_NAME/.test(e.message));
  });

  test("does not own an injected client: close leaves it usable", async () => {
    const client = new S3Client(s3.clientKwargs);
    const store = new S3SandboxStore({ bucket: "sandboxes", client });
    await store.close();
    const out = await client.send(new DeleteObjectsCommand({ Bucket: "sandboxes", Delete: { Objects: [{ Key: "nothing" }] } }));
    assert.equal(out.Errors, undefined);
    client.destroy();
  });
});

describe("DirectorySandboxStore", () => {
  const root = path.join(tmp, "dir-store");
  const store = new DirectorySandboxStore(root);

  test("stores keys as relative paths under its directory", async () => {
    await store.putObject("vo/group/user/sha256:ab.tar.bz2", "data");
    assert.equal(fs.readFileSync(path.join(root, "vo/group/user/sha256:ab.tar.bz2"), "utf8"), "data");
  });

  test("refuses keys that escape the directory, on put and on delete (not retryable)", async () => {
    fs.writeFileSync(path.join(tmp, "outside.txt"), "keep me");
    for (const bad of ["../outside.txt", "a/../../outside.txt", path.join(tmp, "outside.txt"), "", "a\\..\\..\\outside.txt"]) {
      await assert.rejects(store.putObject(bad, "x"), SandboxStoreError, `put ${bad}`);
      const result = await store.deleteObjects([bad]);
      assert.deepEqual(result.deleted, [], bad);
      assert.equal(result.failed[0]?.retryable, false, bad);
      assert.match(result.failed[0]?.error ?? "", /refused|empty/, bad);
    }
    assert.equal(fs.readFileSync(path.join(tmp, "outside.txt"), "utf8"), "keep me");
  });

  test("a key naming a directory fails with the file-system error and deletes nothing", async () => {
    await store.putObject("vo2/group/user/file", "x");
    const result = await store.deleteObjects(["vo2/group", "vo2/group/user/file"]);
    assert.deepEqual(result.deleted, ["vo2/group/user/file"]);
    assert.equal(result.failed.length, 1);
    assert.equal(result.failed[0]?.key, "vo2/group");
    assert.notEqual(result.failed[0]?.retryable, false);
    assert.ok(fs.existsSync(path.join(root, "vo2/group")));
  });
});

describe("openSandboxStore", () => {
  test("a bucket selects S3 even when a directory is set", async () => {
    const store = await openSandboxStore({ bucketName: "sandboxes", directory: tmp, s3ClientKwargs: s3.clientKwargs });
    assert.equal(store.description, "s3://sandboxes");
    await store.close();
  });

  test("falls back to the embedded default directory only when one is given", async () => {
    const store = await openSandboxStore({}, { defaultDirectory: path.join(tmp, "dev") });
    assert.equal(store.description, `dir:${path.join(tmp, "dev")}`);
    await assert.rejects(
      openSandboxStore({}),
      (e: unknown) => e instanceof SandboxStoreError && /DIRACX_SANDBOX_STORE_BUCKET_NAME/.test(e.message) && /DIRACX_SANDBOX_STORE_DIRECTORY/.test(e.message),
    );
  });
});
