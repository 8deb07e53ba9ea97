import type { Queue } from "bullmq";
import { formatTable } from "../cli/ui.ts";
import { bullmqPriority, PRIORITIES, SIZES, type Priority, type Size } from "../engine/priorities.ts";

/** One size's queue as the `dev` summary shows it. */
export interface QueueDepth {
  size: Size;
  waiting: Record<Priority, number>;
  delayed: number;
  running: number;
}

export interface DevSnapshot {
  queues: QueueDepth[];
  /** Jobs (JobDB) per status, all jobs in the database. */
  jobsByStatus: Record<string, number>;
  /** Statuses of the demo jobs this run submitted. */
  demo: { total: number; done: number; byStatus: Record<string, number> };
}

// INTEGRATION(engine): the engine stream's `status` command gathers the same per-size figures;
// once it exports that as a function, use it here so one module reads queue depths.
export async function queueDepth(size: Size, queue: Queue): Promise<QueueDepth> {
  const levels = PRIORITIES.map((p) => bullmqPriority(p) ?? 0);
  const [perPriority, counts] = await Promise.all([queue.getCountsPerPriority(levels), queue.getJobCounts("delayed", "active")]);
  const waiting = Object.fromEntries(PRIORITIES.map((p) => [p, perPriority[String(bullmqPriority(p) ?? 0)] ?? 0])) as Record<Priority, number>;
  return { size, waiting, delayed: counts.delayed ?? 0, running: counts.active ?? 0 };
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
    { header: "queue", value: (r: QueueDepth) => r.size },
    ...PRIORITIES.map((p) => ({ header: p, value: (r: QueueDepth) => r.waiting[p] })),
    { header: "delayed", value: (r: QueueDepth) => r.delayed },
    { header: "running", value: (r: QueueDepth) => r.running },
  ]);
  return [
    header,
    ...table.trimEnd().split("\n"),
    `jobs: ${statusLine(s.jobsByStatus)}`,
    `demo jobs: ${s.demo.done}/${s.demo.total} Done (${statusLine(s.demo.byStatus)})`,
  ];
}

export { statusLine };
