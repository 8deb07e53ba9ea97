// `diracx-tasks`: what task and extension authors import — the task model, schedules, retry
// policies, locks, dependency tokens (DB classes, settings, Config, resources), the job logic
// tasks share, and the errors. Operators, embedders and tests use the subpath entries:
// `diracx-tasks/db`, `/ops`, `/testing`, `/tasks` (src/entries/, tasks/index.ts).
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
  ScheduleError,
  nextOccurrence,
  formatSchedule,
  type Schedule,
  type ScheduleSpec,
} from "./schedule/index.ts";
export { PRIORITIES, SIZES, type Priority, type Size } from "./engine/priorities.ts";

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
  operationsSection,
  type DiracxConfig,
  type ConfigSchemaType,
  type VORegistry,
  type GroupConfig,
  type UserConfig,
  type OperationsConfig,
} from "./config/schema.ts";
export { ConfigError, formatKeyPath, formatZodIssues } from "./config/errors.ts";

export { Config, configToken, isConfigToken, type ConfigToken, type ResolvedConfig } from "./config/token.ts";

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
  type SandboxStoreSettingsValues,
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

export { BaseSQLDB, dbUrlEnvVar, dbUrlFromEnv, type SQLDBClass } from "./db/sql/base.ts";
export type { SQLEngine } from "./db/sql/engine.ts";

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

// Job parameters (OpenSearch + SQL-backed embedded default) and job logic (db-logic stream)

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
export { JOB_STATUS_DEPS } from "./logic/jobs/status-deps.ts";
export { OPTIMIZE_JOBS_TASK_ID, MAX_JOBS_PER_OPTIMIZER_TASK, optimisationRequests } from "./logic/jobs/optimisation.ts";
export {
  submitJdlJobs,
  expandJdls,
  JobSubmissionError,
  MAX_PARAMETRIC_JOBS,
  type Submitter,
  type InsertedJob,
  type SubmissionDeps,
} from "./logic/jobs/submission.ts";
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

export { DiracxError } from "./errors.ts";
export { UnknownTaskError } from "./engine/task-registry.ts";
export { InvalidTaskArgsError } from "./engine/producer.ts";
export { logger, type Logger } from "./logging.ts";
export { activeTraceContext, withTraceContext, type TraceCarrier } from "./observability/tracing.ts";
export { chunked, mapConcurrent } from "./sandbox/batching.ts";
export { runScript, type Migration } from "./db/sql/migrations.ts";
export type { BrokerStartupContext, BrokerStartupHook } from "./scheduler/broker-lifecycle.ts";
export type { BrokerConnection } from "./redis-cluster.ts";
export {
  MissingDependencyError,
  type DependencySpec,
  type DependencyToken,
  type DependencyContext,
  type CustomToken,
  type SettingsToken,
  type ResolvedDeps,
} from "./db/unit-of-work.ts";
