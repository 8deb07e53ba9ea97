import { Command } from "commander";
import { listVOs } from "../../config/schema.ts";
import { resolveTaskSettings } from "../../config/tasks-config.ts";
import { createEngine } from "../../engine/wiring.ts";
import { periodicTasks } from "../../scheduler/desired.ts";
import { formatSchedule } from "../../schedule/index.ts";
import { formatTable } from "../ui.ts";
import { tasksListCommand } from "./task-control.ts";
import type { CliContext } from "../context.ts";

/** One task's effective settings in one scope (all VOs, or one VO of a VO-aware task). */
interface EffectiveSchedule {
  vo: string | null;
  enabled: boolean;
  /** The schedules the scheduler keeps, `variant: schedule` for named variants. */
  schedules: string[];
}

/**
 * `diracx-tasks tasks`: the registered tasks with priority, size, and for periodic tasks the
 * effective schedule — code ← Tasks.common ← Tasks.vo-overrides.<vo>, per VO for VO-aware
 * tasks — and whether the configuration disabled them.
 */
export function tasksCommand(ctx: CliContext): Command {
  return new Command("tasks")
    .option("--json", "print a JSON array")
    // `tasks list --json` is the subcommand's flag, not this one's.
    .enablePositionalOptions()
    .addCommand(tasksListCommand(ctx))
    .action(async (opts: { json?: boolean }) => {
      const engine = await createEngine({ settings: ctx.tasks, env: ctx.env });
      try {
        const tasksConfig = engine.tasksConfig?.current();
        const vos = engine.config ? listVOs(engine.config.current()) : [];
        const periodic = new Map(periodicTasks(engine.tasks).map((p) => [p.taskId, p]));
        const rows = engine.tasks.entries().map(([id, cls]) => {
          const p = periodic.get(id);
          const effective: EffectiveSchedule[] = [];
          if (p) {
            for (const vo of p.voAware ? vos : [undefined]) {
              const r = resolveTaskSettings(tasksConfig, id, vo, { enabled: p.enabled, ...(p.schedule ? { schedule: p.schedule } : {}) });
              effective.push({ vo: vo ?? null, enabled: r.enabled, schedules: r.schedules.map((s) => `${s.variant ? `${s.variant}: ` : ""}${formatSchedule(s.schedule)}`) });
            }
          }
          return {
            id,
            priority: cls.priority,
            size: cls.size,
            /** The schedule the code declares. */
            schedule: p?.schedule ? formatSchedule(p.schedule) : null,
            effective,
            retry: cls.retryPolicy.describe(),
          };
        });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(rows)}\n`);
          return;
        }
        const describe = (e: EffectiveSchedule): string => `${e.vo ? `${e.vo}: ` : ""}${!e.enabled ? "disabled" : e.schedules.join(", ") || "no schedule"}`;
        process.stdout.write(
          formatTable(rows, [
            { header: "TASK", value: (r) => r.id },
            { header: "PRIORITY", value: (r) => r.priority },
            { header: "SIZE", value: (r) => r.size },
            { header: "SCHEDULE (EFFECTIVE)", value: (r) => (r.effective.length ? r.effective.map(describe).join("; ") : undefined) },
          ]),
        );
        if (!engine.config) process.stderr.write("(DIRACX_CONFIG_BACKEND_URL not set: schedules as the code declares them, no VOs)\n");
      } finally {
        await engine.close();
      }
    });
}
