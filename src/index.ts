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
export { type TaskContext, type TaskSubmitter, type AnyTask, withProducer, setDefaultProducer, ProducerNotBoundError } from "./engine/task.ts";
export { type SubmitOptions } from "./engine/producer-types.ts";
export {
  NoRetry,
  ExponentialBackoff,
  StopRetrying,
  TaskTimeoutError,
  type RetryPolicy,
  type ExponentialBackoffOptions,
} from "./engine/retry.ts";
export {
  CronSchedule,
  IntervalSchedule,
  RRuleSchedule,
  InvalidScheduleError,
  type Schedule,
} from "./engine/schedules.ts";
export { PRIORITIES, SIZES, type Priority, type Size } from "./engine/priorities.ts";
export { TaskRegistry, UnknownTaskError, TaskRegistrationError } from "./engine/task-registry.ts";
export {
  Producer,
  InvalidTaskArgsError,
  validateArgs,
  type ProducerOptions,
  type BulkItem,
  type Retention,
} from "./engine/producer.ts";
export { TaskWorker, type TaskWorkerOptions, type WorkerTimings } from "./engine/worker.ts";
export { runAttempt, type AttemptOutcome } from "./engine/execution.ts";
export { metricsRegistry } from "./engine/metrics.ts";
export type { TaskJobData, TaskJobMeta, AttemptRecord } from "./engine/job-data.ts";
export type { LimitsResolver, OpenUnitOfWork } from "./engine/ports.ts";
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

// Databases (db-sql stream)
export {
  DBUnavailableError,
  DBQueryError,
  DBConfigurationError,
  InvalidQueryError,
  NotFoundError,
  AlreadyExistsError,
} from "./db/errors.ts";
export { getEngine, closeAllEngines, closeEngine, type EngineKind } from "./db/sql/engine.ts";
export { BaseSQLDB, dbUrlEnvVar, dbUrlFromEnv, type SQLDBClass } from "./db/sql/base.ts";
export { applyMigrations, runScript, type Migration, type MigrationResult } from "./db/sql/migrations.ts";
export type {
  SearchSpec,
  SortSpec,
  SearchOptions,
  SearchResult,
  ScalarOperator,
  VectorOperator,
  SearchValue,
} from "./db/sql/search.ts";
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
export {
  JobLoggingDB,
  statusTimeOrder,
  type JobLoggingDBSchema,
  type JobLoggingRecord,
  type JobStatusRecord,
} from "./db/sql/job-logging-db.ts";
export {
  TaskQueueDB,
  TQ_MULTI_VALUE_FIELDS,
  type TaskQueueDBSchema,
  type TaskQueueDefinition,
  type TaskQueueJob,
  type TaskQueueInfo,
  type TqMultiValueField,
} from "./db/sql/task-queue-db.ts";
export {
  PilotAgentsDB,
  type PilotAgentsDBSchema,
  type PilotAgent,
  type PilotMetadataUpdate,
  type RegisterPilotsOptions,
} from "./db/sql/pilot-agents-db.ts";
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

// Job parameters (OpenSearch + SQL-backed embedded default) and job logic (db-logic stream)
export {
  BaseOSDB,
  OSDBConfigError,
  OSDBUnavailableError,
  osEnvVar,
  osClientOptionsFromEnv,
  type OSDBClass,
  type OSDocument,
  type OSClientOptions,
} from "./db/os/base.ts";
export {
  planQuery,
  type FieldType,
  type FieldMapping,
  type SearchSpec as DocumentSearchSpec,
  type SortSpec as DocumentSortSpec,
  type Paging,
  type DocumentValue,
  type SearchResult as DocumentSearchResult,
} from "./db/os/query.ts";
export {
  JOB_PARAMETERS_FIELDS,
  JOB_PARAMETERS_INDEX_PREFIX,
  jobParametersIndexName,
  type JobParameters,
  type JobParametersStore,
  type JobParametersUpsert,
} from "./db/os/job-parameters.ts";
export { JobParametersDB, OS_DB_GROUP } from "./db/os/job-parameters-db.ts";
export { SqlJobParametersDB } from "./db/os/sql-job-parameters-db.ts";
export {
  JobStatus,
  JobMinorStatus,
  ALL_JOB_STATUSES,
  FINAL_STATES,
  KILL_STATES,
  IDEM,
  HEARTBEAT_SOURCE,
  KILL_COMMAND,
  isJobStatus,
} from "./logic/jobs/status.ts";
export { JOB_TRANSITIONS, nextState, UnknownJobStatusError } from "./logic/jobs/state-machine.ts";
export {
  setJobStatuses,
  InvalidStatusUpdateError,
  type JobStatusUpdate,
  type TimedJobStatusUpdate,
  type StatusChanges,
  type JobStatusOutcome,
  type SetJobStatusesResult,
  type SetJobStatusesOptions,
  type JobStatusDeps,
} from "./logic/jobs/set-job-statuses.ts";
export { addHeartbeat, type HeartbeatData, type HeartbeatDeps } from "./logic/jobs/heartbeat.ts";
export {
  calculatePriorities,
  TQ_MIN_SHARE,
  DEFAULT_JOB_SHARE,
  type TaskQueueShape,
} from "./logic/task-queues/priority.ts";
export {
  removeJobsFromTaskQueue,
  recalculateTqSharesForEntity,
  type SharesConfig,
} from "./logic/task-queues/shares.ts";
export { initDatabases, type DbInitResult } from "./db/init.ts";
// Dead-letter queue and fan-out/fan-in — dlq stream.
export {
  DeadLetterDrainer,
  deadLetterDrainerFromEnv,
  deadLetterFor,
  pushDeadLetter,
  outboxSize,
  resubmitDeadLetter,
  parseAge,
  DeadLetterError,
  DLQ_ID_LABEL,
  type DrainerOptions,
  type ResubmitResult,
} from "./engine/dead-letter.ts";
export {
  spawnWithCallback,
  spawnWithCallbackHere,
  childOutcomesOf,
  ChildrenFailedError,
  FANOUT_GROUP_LABEL,
  type ChildOutcome,
  type FanoutHandle,
  type SpawnOptions,
} from "./engine/fanout.ts";






// Periodic tasks, schedules and the broker lifecycle — scheduler stream.
export {
  diracxRepeatStrategy,
  schedulerQueueSettings,
  nextOccurrence,
  formatSchedule,
  ScheduleError,
  computeDesiredSchedules,
  desiredFromConfig,
  periodicTasks,
  scheduleId,
  reconcileSchedules,
  Scheduler,
  ScheduleAdmin,
  UnknownScheduleError,
  recordScheduleOutcome,
  attachScheduleOutcomeRecorder,
  BROKER_STARTUP_GROUP,
  BrokerLifecycle,
  loadBrokerStartupHooks,
  type DesiredSchedule,
  type PeriodicTaskInfo,
  type ScheduleProblem,
  type ReconcileReport,
  type SchedulerOptions,
  type ScheduleStatus,
  type ScheduleOutcome,
  type BrokerStartupContext,
  type BrokerStartupHook,
  type NamedHook,
} from "./scheduler/index.ts";














// Core domain tasks' building blocks that extensions use (tasks stream).
export { depsOf, type TaskDeps } from "./db/task-deps.ts";
export {
  noTransaction,
  unitsOfWork,
  type NoTransactionToken,
  type UnitsOfWork,
  type UnitsOfWorkToken,
} from "./db/outside-attempt.ts";
export { resource, ResourceUnavailableError, type ResourceToken } from "./resources/token.ts";
export { parseJdl, Jdl, JdlSyntaxError, type JdlValue } from "./logic/jobs/jdl.ts";
export {
  optimizeJobs,
  OptimizeJobsTask,
  MAX_JOBS_PER_OPTIMIZER_TASK,
  type OptimizationResult,
} from "../tasks/jobs/optimize-jobs.ts";
export { DiracxError } from "./errors.ts";
