export { fromRepeatOptions, toRepeatOptions } from "./repeat-options.ts";
export { diracxRepeatStrategy, schedulerQueueSettings } from "./repeat-strategy.ts";
export {
  computeDesiredSchedules,
  desiredFromConfig,
  periodicTasks,
  scheduleId,
  type DesiredSchedule,
  type PeriodicTaskInfo,
  type ScheduleProblem,
} from "./desired.ts";
export { reconcileSchedules, type ReconcileReport } from "./reconcile.ts";
export { Scheduler, type SchedulerOptions, type ReconcileReason, type DesiredScheduleSource } from "./scheduler.ts";
export { ScheduleAdmin, UnknownScheduleError, type ScheduleStatus } from "./admin.ts";
export { attachScheduleOutcomeRecorder, recordScheduleOutcome, ScheduleStore, type ScheduleOutcome, type ScheduleRecord } from "./state.ts";
export {
  BROKER_STARTUP_GROUP,
  BrokerLifecycle,
  loadBrokerStartupHooks,
  type BrokerCheck,
  type BrokerStartupContext,
  type BrokerStartupHook,
  type NamedHook,
} from "./broker-lifecycle.ts";
