import { Command } from "commander";
import { PRIORITIES } from "../../engine/priorities.ts";
import { allQueueStatus } from "../../observability/queue-status.ts";
import { deadLetterSummary, outboxSize, type DeadLetterSummary } from "../../engine/dead-letter.ts";
import { brokerWipeReport, describeBrokerWipe } from "../../ops/broker-wipes.ts";
import { withEngine } from "../broker.ts";
import { closeEngine, getEngine } from "../../db/sql/engine.ts";
import { TaskDB } from "../../db/sql/task-db.ts";
import type { CliContext } from "../context.ts";

export type { QueueStatus } from "../../observability/queue-status.ts";

/** `diracx-tasks status`: queue depth per size × priority, delayed, running, workers online. */
export function statusCommand(ctx: CliContext): Command {
  return new Command("status")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      await withEngine(ctx, async (engine) => {
        const out = await allQueueStatus((size) => engine.producer.queue(size));
        // dead-letter hook (dlq stream): DLQ size when TaskDB is configured, and the outbox backlog.
        // TaskDB down: the queues are still shown, the dead-letter count is said to be unknown.
        let dl: DeadLetterSummary;
        let unknown: string | undefined;
        try {
          const url = engine.taskDbUrl;
          try {
            dl = await deadLetterSummary(engine.redis, url ? new TaskDB(getEngine(url)) : undefined);
          } finally {
            if (url) await closeEngine(url);
          }
        } catch (err) {
          unknown = `TaskDB unreachable: ${err instanceof Error ? err.message : String(err)}`;
          dl = { pending: undefined, outbox: await outboxSize(engine.redis) };
        }
        const wipe = await brokerWipeReport(engine.taskDbUrl); // wipe accounting: the last broker wipe and the tasks it lost
        if (opts.json) {
          const deadLetters = { pending: dl.pending ?? null, outbox: dl.outbox, ...(unknown ? { unknown } : {}) };
          process.stdout.write(`${JSON.stringify({ queues: out, deadLetters, brokerWipe: wipe.state === "ok" ? wipe.last : null })}\n`);
          return;
        }
        const rows = [
          ["SIZE", ...PRIORITIES.map((p) => p.toUpperCase()), "DELAYED", "RUNNING", "FAILED", "WORKERS"],
          ...out.map((s) => [s.size, ...PRIORITIES.map((p) => String(s.waiting[p])), String(s.delayed), String(s.running), String(s.failed), String(s.workers)]),
        ];
        const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
        process.stdout.write(`${rows.map((r) => r.map((c, i) => c.padEnd(widths[i] as number)).join("  ").trimEnd()).join("\n")}\n`);
        const pending = unknown ? `unknown (${unknown})` : dl.pending === undefined ? "- (DIRACX_DB_URL_TASKDB not set)" : `${dl.pending} pending`;
        process.stdout.write(`dead letters: ${pending}${dl.outbox ? `, ${dl.outbox} not yet written to TaskDB` : ""}\n`);
        process.stdout.write(`${describeBrokerWipe(wipe)}\n`);
      });
    });
}
