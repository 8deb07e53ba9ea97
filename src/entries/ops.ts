// `diracx-tasks/ops`: what runs and operates the system — the producer and task registry,
// workers, the wiring of both, the entry-point registry, configuration sources, the
// dead-letter queue, the scheduler and the broker lifecycle.
export {
  Producer,
  retentionOf,
  InvalidTaskArgsError,
  validateArgs,
  type ProducerOptions,
  type BulkItem,
  type Retention,
} from "../engine/producer.ts";
export { TaskRegistry, UnknownTaskError, TaskRegistrationError } from "../engine/task-registry.ts";
export { TaskWorker, workerTimings, type TaskWorkerOptions, type WorkerTimings } from "../engine/worker.ts";
export { runAttempt, type AttemptOutcome } from "../engine/execution.ts";
export { metricsRegistry } from "../engine/metrics.ts";
export type { TaskJobData, TaskJobMeta, AttemptRecord } from "../engine/job-data.ts";
export { checkJob, InvalidJobError, jobDataJsonSchema, jobDataSchema, JOB_DATA_VERSION, PayloadTooLargeError } from "../engine/job-validation.ts";
export { brokerWipeReport, lastBrokerWipe, type BrokerWipeReport, type BrokerWipeView } from "../ops/broker-wipes.ts";
export type { LimitsResolver, OpenUnitOfWork } from "../engine/ports.ts";
export { createEngine, engineWorkerOptions, type Engine, type EngineOptions } from "../engine/wiring.ts";
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
} from "../registry/index.ts";
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
} from "../config/source.ts";
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
} from "../config/tasks-config.ts";
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
} from "../engine/dead-letter.ts";
// Periodic tasks, schedules and the broker lifecycle — scheduler stream.
export {
  diracxRepeatStrategy,
  schedulerQueueSettings,
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
} from "../scheduler/index.ts";
