export { chunked, mapConcurrent } from "./batching.ts";
export { deleteWithRetries, DELETE_RETRY_DEFAULTS, type DeleteWithRetriesOptions } from "./delete-with-retries.ts";
export { DirectorySandboxStore } from "./directory-store.ts";
export { openSandboxStore } from "./open.ts";
export {
  InvalidSandboxPfnError,
  isValidSandboxPfn,
  makeSandboxPfn,
  parseSandboxPfn,
  s3KeyFromPfn,
  s3LocationFromPfn,
  SANDBOX_FORMATS,
  SANDBOX_PFN_REGEX,
  sandboxReference,
  type SandboxFormat,
  type SandboxPfn,
} from "./pfn.ts";
export { SANDBOX_STORE_PREFIX, SandboxStoreSettings, sandboxStoreEnvVar, sandboxStoreSettingsSchema, type SandboxStoreSettingsValues } from "./settings.ts";
export { describeError, SandboxStoreError, type DeleteObjectsResult, type FailedKey, type SandboxStore } from "./store.ts";
// S3SandboxStore is imported from "./s3-store.ts" directly (or via openSandboxStore) so that
// importing this module does not load the AWS SDK.
