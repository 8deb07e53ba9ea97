import type { Queue } from "bullmq";
import type { Logger } from "../logging.ts";
import { anchorRRule, validateSchedule, type ScheduleSpec } from "../schedule/index.ts";
import { toRepeatOptions } from "./repeat-options.ts";
import { fingerprintOf, type ScheduleStore } from "./state.ts";
import type { DesiredSchedule, ScheduleProblem } from "./desired.ts";

export interface ReconcileReport {
  upserted: string[];
  removed: string[];
  unchanged: string[];
  paused: string[];
  problems: ScheduleProblem[];
}

export interface ReconcileDeps {
  /** The task queues by name (each built with the shared repeat strategy). */
  queues: ReadonlyMap<string, Queue>;
  store: ScheduleStore;
  logger: Logger;
  now?: () => Date;
}

export function repeatOptionsFor(spec: ScheduleSpec, now: Date): { pattern?: string; every?: number; tz?: string } {
  // The RRULE series is pinned when the schedule is (re)created; see anchorRRule.
  return spec.kind === "rrule" ? toRepeatOptions({ kind: "rrule", rule: anchorRRule(spec.rule, now) }) : toRepeatOptions(spec);
}

/**
 * Makes the job schedulers in Redis match the desired schedules. Safe to run from several
 * processes at once: ids are deterministic and `upsertJobScheduler` replaces the pending run of
 * an existing scheduler rather than adding one, so overlapping reconciles cannot double a run.
 * Each schedule is handled on its own: a failure is reported for it and the rest continue.
 */
export async function reconcileSchedules(
  desired: readonly DesiredSchedule[],
  buildProblems: readonly ScheduleProblem[],
  deps: ReconcileDeps,
): Promise<ReconcileReport> {
  const { queues, store, logger } = deps;
  const now = (deps.now ?? (() => new Date()))();
  const report: ReconcileReport = { upserted: [], removed: [], unchanged: [], paused: [], problems: [...buildProblems] };

  // Where each existing job scheduler lives.
  const existing = new Map<string, string[]>();
  for (const [name, queue] of queues) {
    for (const s of await queue.getJobSchedulers()) {
      const list = existing.get(s.key) ?? [];
      list.push(name);
      existing.set(s.key, list);
    }
  }
  const records = new Map((await store.all()).map((r) => [r.id, r]));

  const removeFrom = async (id: string, except?: string): Promise<void> => {
    for (const name of existing.get(id) ?? []) {
      if (name !== except) await queues.get(name)?.removeJobScheduler(id);
    }
  };

  for (const d of desired) {
    try {
      const record = records.get(d.id);
      try {
        validateSchedule(d.spec, now);
      } catch (err) {
        const message = `schedule ${d.id}: ${(err as Error).message}`;
        report.problems.push({ id: d.id, message });
        await removeFrom(d.id);
        await store.describe(d, message);
        continue;
      }
      await removeFrom(d.id, d.queue);
      if (record?.paused) {
        // Paused schedules keep their description (and new expression) but no job scheduler.
        await removeFrom(d.id);
        await store.describe(d);
        report.paused.push(d.id);
        continue;
      }
      const present = existing.get(d.id)?.includes(d.queue) ?? false;
      if (present && record?.fingerprint === fingerprintOf(d) && !record.problem) {
        report.unchanged.push(d.id);
        continue;
      }
      const queue = queues.get(d.queue);
      if (!queue) throw new Error(`no queue '${d.queue}'`);
      const job = await queue.upsertJobScheduler(d.id, repeatOptionsFor(d.spec, now), d.template);
      if (!job) {
        const message = `schedule ${d.id} has no future occurrence (the rule is exhausted)`;
        report.problems.push({ id: d.id, message });
        await store.describe(d, message);
        continue;
      }
      await store.describe(d);
      report.upserted.push(d.id);
    } catch (err) {
      report.problems.push({ id: d.id, message: `schedule ${d.id}: ${(err as Error).message}` });
    }
  }

  const wanted = new Set(desired.map((d) => d.id));
  // A schedule whose new configuration is bad keeps its previous job scheduler running.
  const keep = new Set(buildProblems.map((p) => p.id));
  for (const id of new Set([...existing.keys(), ...records.keys()])) {
    if (wanted.has(id) || keep.has(id)) continue;
    try {
      await removeFrom(id);
      await store.forget(id);
      report.removed.push(id);
    } catch (err) {
      report.problems.push({ id, message: `schedule ${id}: cannot remove: ${(err as Error).message}` });
    }
  }

  for (const p of report.problems) logger.error({ schedule: p.id }, p.message);
  logger.info(
    { upserted: report.upserted.length, removed: report.removed.length, unchanged: report.unchanged.length, paused: report.paused.length, problems: report.problems.length },
    "schedules reconciled",
  );
  return report;
}
