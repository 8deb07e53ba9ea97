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

// Settings (environment variables) — config stream.
export {
  defineSettings,
  isSettingsClass,
  envSuffix,
  SettingsError,
  TasksSettings,
  ConfigBackendSettings,
  type SettingsClass,
  type Env,
} from "./settings.ts";

// DiracX configuration — config stream.
export {
  ConfigSchema,
  UserConfigSchema,
  GroupConfigSchema,
  VORegistrySchema,
  OperationsConfigSchema,
  JobSchedulingConfigSchema,
  ServicesConfigSchema,
  JobDescriptionConfigSchema,
  ResourcesConfigSchema,
  OSCompatibilitySchema,
  listVOs,
  operationsFor,
  type DiracxConfig,
  type ConfigSchemaType,
  type VORegistry,
  type GroupConfig,
  type UserConfig,
  type OperationsConfig,
} from "./config/schema.ts";
export { ConfigError, formatKeyPath, formatZodIssues } from "./config/errors.ts";
export {
  ConfigSource,
  TasksConfigSource,
  parseConfig,
  resolveConfigLocation,
  CONFIG_FILE_NAMES,
  type ConfigRegistry,
  type ConfigSourceOptions,
  type ConfigChangeListener,
  type ConfigErrorListener,
} from "./config/source.ts";
export { Config, configToken, isConfigToken, type ConfigToken, type ResolvedConfig } from "./config/token.ts";
export {
  TasksConfigSchema,
  TaskOverrideSchema,
  ScheduleSchema,
  DEFAULT_RATE_WINDOW_SECONDS,
  resolveTaskSettings,
  resolveObjectLimit,
  checkTasksConfig,
  type TasksConfig,
  type TaskOverride,
  type ScheduleSpec,
  type TaskDefaults,
  type ResolvedTaskSettings,
  type ResolvedSchedule,
  type Limits,
  type RateLimit,
  type ConcurrencyLimit,
  type RetryOverride,
} from "./config/tasks-config.ts";

// Overridable resources — config stream.
export {
  findCompatiblePlatforms,
  sortPlatformsNewestFirst,
  platformSortKey,
  PlatformCompatibilityError,
  type FindCompatiblePlatforms,
} from "./resources/platforms.ts";

// The zod instance core's schemas are built with: extensions extend those schemas and declare
// task args with it, so they use this one rather than a second copy of zod.
export { z } from "zod";

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
