import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { ConfigBackendSettings, defineSettings, envSuffix, isSettingsClass, SettingsError, TasksSettings } from "../../src/settings.ts";

class SandboxStoreSettings extends defineSettings(
  "DIRACX_SANDBOX_STORE_",
  z.object({
    bucketName: z.string(),
    cleanBatchSize: z.number().int().positive().default(500),
    autoCreateBucket: z.boolean().default(false),
    s3ClientKwargs: z.record(z.string(), z.string()).default({}),
    mode: z.enum(["fast", "safe"]).optional(),
  }),
) {}

describe("defineSettings", () => {
  it("maps camelCase fields to prefixed SCREAMING_SNAKE variables", () => {
    assert.equal(envSuffix("cleanBatchSize"), "CLEAN_BATCH_SIZE");
    assert.equal(envSuffix("s3ClientKwargs"), "S3_CLIENT_KWARGS");
    assert.equal(envSuffix("endpointURL"), "ENDPOINT_URL");
    assert.equal(envSuffix("HTTPServerPort"), "HTTP_SERVER_PORT");
    assert.deepEqual(SandboxStoreSettings.envVariables(), {
      bucketName: "DIRACX_SANDBOX_STORE_BUCKET_NAME",
      cleanBatchSize: "DIRACX_SANDBOX_STORE_CLEAN_BATCH_SIZE",
      autoCreateBucket: "DIRACX_SANDBOX_STORE_AUTO_CREATE_BUCKET",
      s3ClientKwargs: "DIRACX_SANDBOX_STORE_S3_CLIENT_KWARGS",
      mode: "DIRACX_SANDBOX_STORE_MODE",
    });
  });

  it("reads, coerces and freezes an instance of the subclass", () => {
    const s = SandboxStoreSettings.fromEnv({
      DIRACX_SANDBOX_STORE_BUCKET_NAME: "sandboxes",
      DIRACX_SANDBOX_STORE_CLEAN_BATCH_SIZE: "42",
      DIRACX_SANDBOX_STORE_AUTO_CREATE_BUCKET: "yes",
      DIRACX_SANDBOX_STORE_S3_CLIENT_KWARGS: '{"region_name":"eu"}',
    });
    assert.ok(s instanceof SandboxStoreSettings);
    assert.equal(s.bucketName, "sandboxes");
    assert.equal(s.cleanBatchSize, 42);
    assert.equal(s.autoCreateBucket, true);
    assert.deepEqual(s.s3ClientKwargs, { region_name: "eu" });
    assert.equal(s.mode, undefined);
    assert.ok(Object.isFrozen(s));
    assert.equal(SandboxStoreSettings.settingsPrefix, "DIRACX_SANDBOX_STORE_");
    assert.ok(isSettingsClass(SandboxStoreSettings));
    assert.ok(!isSettingsClass(class {}));
  });

  it("applies defaults when variables are absent", () => {
    const s = SandboxStoreSettings.fromEnv({ DIRACX_SANDBOX_STORE_BUCKET_NAME: "b" });
    assert.equal(s.cleanBatchSize, 500);
    assert.equal(s.autoCreateBucket, false);
  });

  it("names the variable of a missing required field", () => {
    assert.throws(
      () => SandboxStoreSettings.fromEnv({}),
      (err: unknown) =>
        err instanceof SettingsError &&
        err.message === "invalid settings (SandboxStoreSettings): DIRACX_SANDBOX_STORE_BUCKET_NAME is required but not set",
    );
  });

  it("names the variable and the value that cannot be coerced", () => {
    assert.throws(
      () => SandboxStoreSettings.fromEnv({ DIRACX_SANDBOX_STORE_BUCKET_NAME: "b", DIRACX_SANDBOX_STORE_CLEAN_BATCH_SIZE: "many" }),
      { name: "SettingsError", message: 'invalid settings (SandboxStoreSettings): DIRACX_SANDBOX_STORE_CLEAN_BATCH_SIZE: expected a number, got "many"' },
    );
    assert.throws(
      () => SandboxStoreSettings.fromEnv({ DIRACX_SANDBOX_STORE_BUCKET_NAME: "b", DIRACX_SANDBOX_STORE_AUTO_CREATE_BUCKET: "maybe" }),
      /DIRACX_SANDBOX_STORE_AUTO_CREATE_BUCKET: expected a boolean .*got "maybe"/,
    );
    assert.throws(
      () => SandboxStoreSettings.fromEnv({ DIRACX_SANDBOX_STORE_BUCKET_NAME: "b", DIRACX_SANDBOX_STORE_S3_CLIENT_KWARGS: "{oops" }),
      /DIRACX_SANDBOX_STORE_S3_CLIENT_KWARGS: expected a JSON object/,
    );
  });

  it("names the variable whose value breaks a schema rule", () => {
    assert.throws(
      () => SandboxStoreSettings.fromEnv({ DIRACX_SANDBOX_STORE_BUCKET_NAME: "b", DIRACX_SANDBOX_STORE_CLEAN_BATCH_SIZE: "-3" }),
      /DIRACX_SANDBOX_STORE_CLEAN_BATCH_SIZE: Too small: expected number to be >0/,
    );
    assert.throws(
      () => SandboxStoreSettings.fromEnv({ DIRACX_SANDBOX_STORE_BUCKET_NAME: "b", DIRACX_SANDBOX_STORE_MODE: "reckless" }),
      /DIRACX_SANDBOX_STORE_MODE: /,
    );
  });

  it("refuses a malformed prefix at definition", () => {
    assert.throws(() => defineSettings("diracx_lower", z.object({})), /must be upper case and end with '_'/);
  });
});

describe("core settings", () => {
  it("TasksSettings defaults the Redis URL and validates it", () => {
    assert.equal(TasksSettings.fromEnv({}).redisUrl, "redis://localhost:6379");
    assert.equal(TasksSettings.fromEnv({ DIRACX_TASKS_REDIS_URL: "redis://r:6380/2" }).redisUrl, "redis://r:6380/2");
    assert.throws(() => TasksSettings.fromEnv({ DIRACX_TASKS_REDIS_URL: "localhost:6379" }), /DIRACX_TASKS_REDIS_URL: expected a redis:\/\//);
  });

  it("ConfigBackendSettings reads DIRACX_CONFIG_BACKEND_URL", () => {
    const s = ConfigBackendSettings.fromEnv({ DIRACX_CONFIG_BACKEND_URL: "/etc/diracx" });
    assert.equal(s.backendUrl, "/etc/diracx");
    assert.equal(s.pollIntervalSeconds, 5);
    assert.throws(() => ConfigBackendSettings.fromEnv({}), /DIRACX_CONFIG_BACKEND_URL is required but not set/);
  });
});
