import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SandboxStoreSettings } from "../../src/sandbox/index.ts";
import { SettingsError } from "../../src/settings.ts";

describe("SandboxStoreSettings", () => {
  test("defaults match DiracX's", () => {
    const s = SandboxStoreSettings.fromEnv({});
    assert.equal(s.seName, "SandboxSE");
    assert.equal(s.cleanBatchSize, 50_000);
    assert.equal(s.cleanDeleteChunkSize, 1000);
    assert.equal(s.cleanMaxConcurrentDbDeletes, 10);
    assert.equal(s.bucketName, undefined);
    assert.equal(s.directory, undefined);
  });

  test("reads DIRACX_SANDBOX_STORE_* variables, coercing numbers and JSON", () => {
    const s = SandboxStoreSettings.fromEnv({
      DIRACX_SANDBOX_STORE_SE_NAME: "OtherSE",
      DIRACX_SANDBOX_STORE_BUCKET_NAME: "sandboxes",
      DIRACX_SANDBOX_STORE_CLEAN_BATCH_SIZE: "200",
      DIRACX_SANDBOX_STORE_CLEAN_MAX_CONCURRENT_DB_DELETES: "3",
      DIRACX_SANDBOX_STORE_S3_CLIENT_KWARGS: JSON.stringify({ endpoint: "http://minio:9000", credentials: { accessKeyId: "a", secretAccessKey: "b" } }),
    });
    assert.equal(s.seName, "OtherSE");
    assert.equal(s.bucketName, "sandboxes");
    assert.equal(s.cleanBatchSize, 200);
    assert.equal(s.cleanMaxConcurrentDbDeletes, 3);
    assert.deepEqual(s.s3ClientKwargs, {
      endpoint: "http://minio:9000",
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
    });
    assert.ok(Object.isFrozen(s));
  });

  test("accepts the boto3 names an existing DiracX deployment sets", () => {
    const s = SandboxStoreSettings.fromEnv({
      DIRACX_SANDBOX_STORE_S3_CLIENT_KWARGS: JSON.stringify({
        endpoint_url: "https://s3.cern.ch",
        aws_access_key_id: "id",
        aws_secret_access_key: "secret",
        region_name: "cern",
      }),
    });
    assert.deepEqual(s.s3ClientKwargs, {
      endpoint: "https://s3.cern.ch",
      region: "cern",
      forcePathStyle: true,
      credentials: { accessKeyId: "id", secretAccessKey: "secret" },
    });
  });

  test("lists the variables it reads", () => {
    assert.equal(SandboxStoreSettings.envVariables().s3ClientKwargs, "DIRACX_SANDBOX_STORE_S3_CLIENT_KWARGS");
    assert.equal(SandboxStoreSettings.envVariables().cleanMaxConcurrentDbDeletes, "DIRACX_SANDBOX_STORE_CLEAN_MAX_CONCURRENT_DB_DELETES");
  });

  test("bad values are refused with the variable's name", () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ DIRACX_SANDBOX_STORE_CLEAN_BATCH_SIZE: "many" }, /DIRACX_SANDBOX_STORE_CLEAN_BATCH_SIZE/],
      [{ DIRACX_SANDBOX_STORE_CLEAN_BATCH_SIZE: "0" }, /DIRACX_SANDBOX_STORE_CLEAN_BATCH_SIZE/],
      [{ DIRACX_SANDBOX_STORE_CLEAN_DELETE_CHUNK_SIZE: "2.5" }, /DIRACX_SANDBOX_STORE_CLEAN_DELETE_CHUNK_SIZE/],
      [{ DIRACX_SANDBOX_STORE_S3_CLIENT_KWARGS: "{not json" }, /DIRACX_SANDBOX_STORE_S3_CLIENT_KWARGS: expected a JSON object/],
      [{ DIRACX_SANDBOX_STORE_S3_CLIENT_KWARGS: '{"endpiont":"http://x"}' }, /DIRACX_SANDBOX_STORE_S3_CLIENT_KWARGS.*endpiont/],
      [{ DIRACX_SANDBOX_STORE_S3_CLIENT_KWARGS: '{"endpoint":"not a url"}' }, /DIRACX_SANDBOX_STORE_S3_CLIENT_KWARGS \(at endpoint\)/],
    ];
    for (const [env, pattern] of cases) {
      assert.throws(
        () => SandboxStoreSettings.fromEnv(env),
        (e: unknown) => e instanceof SettingsError && pattern.test(e.message) && !e.message.includes("\n"),
        JSON.stringify(env),
      );
    }
  });
});
