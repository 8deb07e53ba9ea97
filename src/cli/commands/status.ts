import { Command } from "commander";
import { PRIORITIES } from "../../engine/priorities.ts";
import { allQueueStatus } from "../../observability/queue-status.ts";
import { createEngine } from "../../engine/wiring.ts";
import { deadLetterSummary } from "../../engine/dead-letter.ts";
import { brokerWipeReport, describeBrokerWipe } from "../../ops/broker-wipes.ts";

export type { QueueStatus } from "../../observability/queue-status.ts";

/** `diracx-tasks status`: queue depth per size × priority, delayed, running, workers online. */
export function statusCommand(): Command {
  return new Command("status")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      const engine = await createEngine();
      try {
        const out = await allQueueStatus((size) => engine.producer.queue(size));
        // dead-letter hook (dlq stream): DLQ size when TaskDB is configured, and the outbox backlog
        const dl = await deadLetterSummary(engine.redis);
        const wipe = await brokerWipeReport(); // wipe accounting: the last broker wipe and the tasks it lost
        if (opts.json) {
          const deadLetters = { pending: dl.pending ?? null, outbox: dl.outbox };
          process.stdout.write(`${JSON.stringify({ queues: out, deadLetters, brokerWipe: wipe.state === "ok" ? wipe.last : null })}\n`);
          return;
        }
        const rows = [
          ["SIZE", ...PRIORITIES.map((p) => p.toUpperCase()), "DELAYED", "RUNNING", "FAILED", "WORKERS"],
          ...out.map((s) => [s.size, ...PRIORITIES.map((p) => String(s.waiting[p])), String(s.delayed), String(s.running), String(s.failed), String(s.workers)]),
        ];
        const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
        process.stdout.write(`${rows.map((r) => r.map((c, i) => c.padEnd(widths[i] as number)).join("  ").trimEnd()).join("\n")}\n`);
        process.stdout.write(`dead letters: ${dl.pending === undefined ? "- (DIRACX_DB_URL_TASKDB not set)" : `${dl.pending} pending`}${dl.outbox ? `, ${dl.outbox} not yet written to TaskDB` : ""}\n`);
        process.stdout.write(`${describeBrokerWipe(wipe)}\n`);
      } finally {
        await engine.close();
      }
    });
}
