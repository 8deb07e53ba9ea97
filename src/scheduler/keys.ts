/**
 * The one module that knows the scheduler's own Redis key names. BullMQ keeps the job
 * schedulers themselves under its queue prefix; what it has no room for (the schedule's
 * task/VO/variant, paused flag, last run and outcome) lives here, one hash per schedule.
 */
const ROOT = "diracx:scheduler";

/** Set of every schedule id the scheduler manages (so `schedules list` needs no registry). */
export const SCHEDULE_INDEX_KEY = `${ROOT}:schedules`;

/** Hash describing one schedule (see ScheduleRecord in state.ts). */
export function scheduleKey(scheduleId: string): string {
  return `${ROOT}:schedule:${scheduleId}`;
}

/**
 * Broker epoch sentinel. Created with SET NX by the first process to see an empty broker;
 * its absence means Redis was wiped (or never used), its value changing means another
 * process already noticed a wipe.
 */
export const BROKER_EPOCH_KEY = "diracx:broker:epoch";
