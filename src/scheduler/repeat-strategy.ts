import type { RepeatOptions, RepeatStrategy } from "bullmq";
import { logger } from "../logging.ts";
import { nextOccurrence } from "../schedule/index.ts";
import { fromRepeatOptions } from "./repeat-options.ts";

const log = logger.child({ component: "repeat-strategy" });

/**
 * The BullMQ `settings.repeatStrategy` for diracx-tasks queues. BullMQ calls it when a job
 * scheduler is upserted and, in the worker, each time a scheduled job starts, to place the next
 * one; so every Queue AND every Worker on the task queues must pass this same function.
 *
 * `millis` is the later of "now" and the previous nominal run, so the series is computed from
 * the nominal times and does not drift with worker latency. Intervals never reach this function
 * (BullMQ's own `every` arithmetic handles them). A schedule that cannot be computed stops only
 * itself: it is logged and no next job is created; the others carry on.
 */
export const diracxRepeatStrategy: RepeatStrategy = (millis: number, opts: RepeatOptions, name?: string): number | undefined => {
  const spec = fromRepeatOptions({ pattern: opts.pattern ?? null, tz: typeof opts.tz === "string" ? opts.tz : null });
  if (!spec) {
    log.error({ task: name, pattern: opts.pattern }, "job scheduler pattern has no cron:/rrule: prefix; no next run created");
    return undefined;
  }
  try {
    const next = nextOccurrence(spec, new Date(millis));
    if (!next) log.warn({ task: name, pattern: opts.pattern }, "schedule has no future occurrence; it stops here");
    return next?.getTime();
  } catch (err) {
    log.error({ task: name, pattern: opts.pattern, err: (err as Error).message }, "cannot compute the next run; this schedule stops");
    return undefined;
  }
};

/** Queue/Worker `settings` carrying the shared repeat strategy (spread into your options). */
export const schedulerQueueSettings = { repeatStrategy: diracxRepeatStrategy } as const;
