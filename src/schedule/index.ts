// Schedules: the one place that parses, validates and computes them (cron through croner,
// RFC 5545 RRULEs through rrule, intervals). Task code, the tasks configuration, the scheduler
// and the CLI all go through this module, so a schedule is refused the same way everywhere.
export {
  anchorRRule,
  checkSchedule,
  checkTimeZone,
  formatSchedule,
  hasDtstart,
  nextOccurrence,
  scheduleFromInput,
  ScheduleError,
  validateSchedule,
  type ScheduleField,
  type ScheduleSpec,
} from "./spec.ts";
export { CronSchedule, IntervalSchedule, RRuleSchedule, specOfSchedule, type Schedule } from "./classes.ts";
