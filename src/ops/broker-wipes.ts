// The last broker wipe and how many tasks it lost (recorded by the scheduler, src/scheduler/
// wipe-accounting.ts): what `status` prints and --json carries, and the data the dashboard reads.
import { closeEngine, getEngine } from "../db/sql/engine.ts";
import { TaskDB, type BrokerWipe } from "../db/sql/task-db.ts";
import { describeDepths } from "../scheduler/wipe-accounting.ts";

export type { BrokerWipe };

/** The JSON form (`status --json`'s `brokerWipe`, the dashboard's data). */
export interface BrokerWipeView {
  detectedAt: string;
  epoch: string;
  snapshotAt: string | null;
  /** Tasks lost as of the last snapshot before the wipe; null when unknown. */
  lost: number | null;
  /** Per size: waiting per priority, delayed, running, waiting-children. */
  depths: BrokerWipe["lost"];
}

export type BrokerWipeReport =
  /** TaskDB is not configured (DIRACX_DB_URL_TASKDB): nothing is recorded. */
  | { state: "unconfigured" }
  | { state: "unavailable"; error: string }
  | { state: "ok"; last: BrokerWipeView | null };

export function brokerWipeView(w: BrokerWipe): BrokerWipeView {
  return { detectedAt: w.detectedAt.toISOString(), epoch: w.epoch, snapshotAt: w.snapshotAt?.toISOString() ?? null, lost: w.lostTotal, depths: w.lost };
}

/** The last recorded wipe, from a TaskDB the caller holds (the dashboard's). */
export async function lastBrokerWipe(taskDB: TaskDB): Promise<BrokerWipeView | null> {
  const [last] = await taskDB.brokerWipes(1);
  return last ? brokerWipeView(last) : null;
}

/** For `status`: the last wipe from TaskDB at `url` (DIRACX_DB_URL_TASKDB, read at wiring); never throws (an unreachable TaskDB is reported). */
export async function brokerWipeReport(url: string | undefined): Promise<BrokerWipeReport> {
  if (!url) return { state: "unconfigured" };
  try {
    return { state: "ok", last: await lastBrokerWipe(new TaskDB(getEngine(url))) };
  } catch (err) {
    return { state: "unavailable", error: err instanceof Error ? err.message : String(err) };
  } finally {
    await closeEngine(url).catch(() => undefined);
  }
}

/** One line for `status`. */
export function describeBrokerWipe(report: BrokerWipeReport): string {
  if (report.state === "unconfigured") return "broker wipes: - (DIRACX_DB_URL_TASKDB not set)";
  if (report.state === "unavailable") return `broker wipes: unknown (TaskDB: ${report.error})`;
  const w = report.last;
  if (!w) return "broker wipes: none recorded";
  return `last broker wipe: ${w.detectedAt}: ${w.lost ?? "unknown"} tasks lost (as of the snapshot at ${w.snapshotAt ?? "-"}: ${describeDepths(w.depths)})`;
}
