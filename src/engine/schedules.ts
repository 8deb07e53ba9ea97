// Task code declares schedules with the classes of the schedule module (src/schedule/); they are
// re-exported here beside the rest of the task model.
export { CronSchedule, IntervalSchedule, RRuleSchedule, ScheduleError, type Schedule } from "../schedule/index.ts";
