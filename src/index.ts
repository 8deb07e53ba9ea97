// Task engine: task model, schedules, retry policies, producer, worker.
export {
  Task,
  PeriodicTask,
  PeriodicVoAwareTask,
  defineTask,
  definePeriodicTask,
  definePeriodicVoAwareTask,
  isTaskClass,
  isPeriodicTaskClass,
  isVoAwareTaskClass,
  type TaskClass,
  type PeriodicTaskClass,
  type ContextOf,
  type ArgsSchema,
  type TaskDefinition,
  type PeriodicTaskDefinition,
} from "./engine/task.ts";
export { type TaskContext, withProducer, setDefaultProducer, ProducerNotBoundError } from "./engine/context.ts";
export { type SubmitOptions, type TaskSubmitter } from "./engine/producer-types.ts";
export { NoRetry, ExponentialBackoff, StopRetrying, TaskTimeoutError, type RetryPolicy, type ExponentialBackoffOptions } from "./engine/retry.ts";
export { CronSchedule, IntervalSchedule, RRuleSchedule, InvalidScheduleError, type Schedule } from "./engine/schedules.ts";
export { PRIORITIES, SIZES, type Priority, type Size } from "./engine/priorities.ts";
export { TaskRegistry, UnknownTaskError, TaskRegistrationError } from "./engine/task-registry.ts";
export { Producer, InvalidTaskArgsError, validateArgs, type ProducerOptions, type BulkItem, type Retention } from "./engine/producer.ts";
export { TaskWorker, type TaskWorkerOptions, type WorkerTimings } from "./engine/worker.ts";
export { runAttempt, type AttemptOutcome } from "./engine/execution.ts";
export { metricsRegistry } from "./engine/metrics.ts";
export type { TaskJobData, TaskJobMeta, AttemptRecord } from "./engine/job-data.ts";
export type { LimitsResolver, OpenUnitOfWork, ResolvedDependencies } from "./engine/ports.ts";
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
export * from "./locks/index.ts";
export {};

// Databases (db-sql stream)
export { DBUnavailableError, DBQueryError, DBConfigurationError, InvalidQueryError, NotFoundError, AlreadyExistsError } from "./db/errors.ts";
export { getEngine, closeAllEngines, closeEngine, type EngineKind } from "./db/sql/engine.ts";
export { BaseSQLDB, dbUrlEnvVar, dbUrlFromEnv, type SQLDBClass } from "./db/sql/base.ts";
export { applyMigrations, runScript, type Migration, type MigrationResult } from "./db/sql/migrations.ts";
export type { SearchSpec, SortSpec, SearchOptions, SearchResult, ScalarOperator, VectorOperator, SearchValue } from "./db/sql/search.ts";
export {
  JobDB,
  compressJdl,
  extractJdl,
  HEARTBEAT_FIELDS,
  JDL_TO_DB_PARAMETERS,
  type JobDBSchema,
  type JobAttributes,
  type JobAttributeUpdate,
  type JobCommand,
  type HeartbeatField,
} from "./db/sql/job-db.ts";
export { JobLoggingDB, statusTimeOrder, type JobLoggingDBSchema, type JobLoggingRecord, type JobStatusRecord } from "./db/sql/job-logging-db.ts";
export {
  TaskQueueDB,
  TQ_MULTI_VALUE_FIELDS,
  type TaskQueueDBSchema,
  type TaskQueueDefinition,
  type TaskQueueJob,
  type TaskQueueInfo,
  type TqMultiValueField,
} from "./db/sql/task-queue-db.ts";
export { PilotAgentsDB, type PilotAgentsDBSchema, type PilotAgent, type PilotMetadataUpdate, type RegisterPilotsOptions } from "./db/sql/pilot-agents-db.ts";
export {
  SandboxMetadataDB,
  type SandboxMetadataDBSchema,
  type SandboxOwner,
  type SandboxInfo,
  type SandboxType,
  type SandboxDeletionBatch,
} from "./db/sql/sandbox-metadata-db.ts";
export {
  TaskDB,
  DEAD_LETTER_STATUSES,
  type TaskDBSchema,
  type DeadLetter,
  type NewDeadLetter,
  type DeadLetterFilter,
  type DeadLetterStatus,
  type AttemptError,
  type JsonValue,
} from "./db/sql/task-db.ts";
export {
  openUnitOfWork,
  withUnitOfWork,
  missingDependencies,
  resolveSqlDbClass,
  MissingDependencyError,
  SQL_DB_GROUP,
  type UnitOfWork,
  type UnitOfWorkOptions,
  type DependencySpec,
  type DependencyToken,
  type DependencyContext,
  type CustomToken,
  type SettingsToken,
  type ResolvedDeps,
  type DbRegistry,
  type ConfigProvider,
} from "./db/unit-of-work.ts";
