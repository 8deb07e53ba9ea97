import { Command } from "commander";
import { ScheduleAdmin, type ScheduleStatus } from "../../scheduler/admin.ts";
import { withBroker } from "../broker.ts";
import type { CliContext } from "../context.ts";

async function withAdmin<T>(ctx: CliContext, redisUrl: string | undefined, fn: (admin: ScheduleAdmin) => Promise<T>): Promise<T> {
  return withBroker(
    ctx,
    redisUrl,
    async (redis) => {
      const admin = new ScheduleAdmin(redis);
      try {
        return await fn(admin);
      } finally {
        await admin.close();
      }
    },
    "diracx-tasks:schedules",
  );
}

const time = (ms: number | undefined): string => (ms ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z") : "-");

function table(rows: ScheduleStatus[]): string {
  const head = ["ID", "TASK", "VO", "VARIANT", "SCHEDULE", "NEXT RUN", "LAST RUN", "LAST OUTCOME", "PAUSED"];
  const body = rows.map((s) => [
    s.id,
    s.task,
    s.vo ?? "-",
    s.variant ?? "-",
    s.schedule,
    s.problem ? "(not running)" : time(s.nextRunAt),
    time(s.lastRunAt),
    s.lastOutcome ? (s.lastError ? `${s.lastOutcome}: ${s.lastError}` : s.lastOutcome) : "-",
    s.paused ? "yes" : "no",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const problems = rows.filter((s) => s.problem).map((s) => `! ${s.id}: ${s.problem}`);
  return [line(head), ...body.map(line), ...problems].join("\n") + "\n";
}

/** `diracx-tasks schedules list|pause|resume|trigger`. */
export function schedulesCommand(ctx: CliContext): Command {
  const cmd = new Command("schedules").option("--redis-url <url>", "broker URL (default: DIRACX_TASKS_REDIS_URL)");
  const url = (): string | undefined => cmd.opts<{ redisUrl?: string }>().redisUrl;
  cmd
    .command("list")
    .description("every schedule with its next run, last run and last outcome")
    .option("--json", "print a JSON array")
    .action(async (o: { json?: boolean }) => {
      const rows = await withAdmin(ctx, url(), (a) => a.list());
      process.stdout.write(o.json ? JSON.stringify(rows, null, 2) + "\n" : rows.length ? table(rows) : "no schedules (is `diracx-tasks scheduler` running?)\n");
    });
  cmd
    .command("pause <id>")
    .description("stop a schedule's runs (kept paused across reconciles)")
    .action(async (id: string) => {
      await withAdmin(ctx, url(), (a) => a.pause(id));
      process.stdout.write(`paused ${id}\n`);
    });
  cmd
    .command("resume <id>")
    .description("resume a paused schedule")
    .action(async (id: string) => {
      await withAdmin(ctx, url(), (a) => a.resume(id));
      process.stdout.write(`resumed ${id}\n`);
    });
  cmd
    .command("trigger <id>")
    .description("submit one run now with the schedule's args")
    .action(async (id: string) => {
      const jobId = await withAdmin(ctx, url(), (a) => a.trigger(id));
      process.stdout.write(`triggered ${id}: task ${jobId}\n`);
    });
  return cmd;
}
