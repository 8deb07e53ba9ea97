import { formatTable } from "../format-table.ts";
import { PRIORITIES, SIZES } from "../engine/priorities.ts";
import type { QueueStatus } from "../observability/queue-status.ts";

export interface DevSnapshot {
  /** Each size's queue, as `status` reads it (src/observability/queue-status.ts). */
  queues: QueueStatus[];
  /** Jobs (JobDB) per status, all jobs in the database. */
  jobsByStatus: Record<string, number>;
  /** Statuses of the demo jobs this run submitted. */
  demo: { total: number; done: number; byStatus: Record<string, number> };
}

function statusLine(byStatus: Record<string, number>): string {
  const parts = Object.entries(byStatus)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([s, n]) => `${s} ${n}`);
  return parts.length ? parts.join(" · ") : "(none)";
}

/** The lines of the live summary: a queue table, then job counts. */
export function renderSnapshot(s: DevSnapshot, header: string): string[] {
  const order = new Map(SIZES.map((size, i) => [size, i]));
  const rows = [...s.queues].sort((a, b) => (order.get(a.size) ?? 0) - (order.get(b.size) ?? 0));
  const table = formatTable(rows, [
    { header: "queue", value: (r: QueueStatus) => r.size },
    ...PRIORITIES.map((p) => ({ header: p, value: (r: QueueStatus) => r.waiting[p] })),
    { header: "delayed", value: (r: QueueStatus) => r.delayed },
    { header: "running", value: (r: QueueStatus) => r.running },
  ]);
  return [
    header,
    ...table.trimEnd().split("\n"),
    `jobs: ${statusLine(s.jobsByStatus)}`,
    `demo jobs: ${s.demo.done}/${s.demo.total} Done (${statusLine(s.demo.byStatus)})`,
  ];
}

export { statusLine };
