export {
  getRegistry,
  loadRegistry,
  loadTaskClass,
  taskEntries,
  Registry,
  RegistryError,
  EntryPointError,
  classKind,
  functionKind,
  type EntryPoint,
  type EntryKind,
  type TaskEntry,
} from "./registry/index.ts";
export {
  registerLockObjectType,
  assertLockObjectType,
  lockObjectTypes,
  loadLockObjectTypes,
  LockObjectTypeError,
} from "./locks/object-types.ts";
export * from "./locks/index.ts";
// Sandbox store (domain stream): stores, PFN mapping, retrying bulk delete, settings.
export {
  DirectorySandboxStore,
  openSandboxStore,
  deleteWithRetries,
  SandboxStoreSettings,
  SandboxStoreError,
  InvalidSandboxPfnError,
  SANDBOX_PFN_REGEX,
  parseSandboxPfn,
  isValidSandboxPfn,
  s3KeyFromPfn,
  s3LocationFromPfn,
  makeSandboxPfn,
  sandboxReference,
  type SandboxStore,
  type DeleteObjectsResult,
  type FailedKey,
  type DeleteWithRetriesOptions,
  type SandboxPfn,
} from "./sandbox/index.ts";
