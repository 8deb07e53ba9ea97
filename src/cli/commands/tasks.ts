import { Command } from "commander";
import { isPeriodicTaskClass } from "../../engine/task.ts";
import { createEngine } from "../../engine/wiring.ts";

/** `diracx-tasks tasks`: the registered tasks with priority, size and schedule. */
export function tasksCommand(): Command {
  return new Command("tasks")
    .option("--json", "print a JSON array")
    .action(async (opts: { json?: boolean }) => {
      const engine = await createEngine();
      try {
        const rows = engine.tasks.entries().map(([id, cls]) => ({
          id,
          priority: cls.priority,
          size: cls.size,
          schedule: isPeriodicTaskClass(cls) ? (cls.defaultSchedule?.describe() ?? null) : null,
          retry: cls.retryPolicy.describe(),
        }));
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(rows)}\n`);
          return;
        }
        const table = [["TASK", "PRIORITY", "SIZE", "SCHEDULE"], ...rows.map((r) => [r.id, r.priority, r.size, r.schedule ?? "-"])];
        const widths = (table[0] as string[]).map((_, i) => Math.max(...table.map((r) => (r[i] as string).length)));
        process.stdout.write(`${table.map((r) => r.map((c, i) => c.padEnd(widths[i] as number)).join("  ").trimEnd()).join("\n")}\n`);
      } finally {
        await engine.close();
      }
    });
}
