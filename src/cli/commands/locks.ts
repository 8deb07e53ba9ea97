import { Command, Option } from "commander";
import { DiracxError } from "../../errors.ts";
import { connectBrokerOnce } from "../../engine/connection.ts";
import { LockManager, type LockInfo } from "../../locks/index.ts";
import type { CliContext } from "../context.ts";
import { confirm } from "../ui.ts";

function redisUrlOption(): Option {
  return new Option("--redis-url <url>", "Redis URL (default: DIRACX_TASKS_REDIS_URL or redis://localhost:6379)");
}

async function withManager<T>(ctx: CliContext, flagUrl: string | undefined, fn: (manager: LockManager) => Promise<T>): Promise<T> {
  // Fail fast: an operator command reports an unreachable Redis (URL masked), not retry forever.
  const redis = await connectBrokerOnce(flagUrl ?? ctx.tasks.redisUrl, {
    name: "diracx-tasks:locks",
    timeoutMs: ctx.connectTimeoutMs,
    source: flagUrl ? "--redis-url" : "DIRACX_TASKS_REDIS_URL",
  });
  try {
    return await fn(new LockManager(redis));
  } finally {
    redis.disconnect();
  }
}

function duration(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  const s = Math.floor(ms / 1_000);
  if (s < 60) return `${(ms / 1_000).toFixed(1)}s`;
  if (s < 3_600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3_600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

function table(infos: LockInfo[]): string {
  const rows = [["KEY", "TYPE", "HOLDER TASK", "OWNER", "AGE", "TTL"]];
  for (const info of infos) {
    for (const h of info.holders) {
      const type = h.mode ? `${info.type}:${h.mode}` : info.type;
      const task = h.taskName && h.taskId ? `${h.taskName} (${h.taskId})` : (h.taskName ?? h.taskId ?? "-");
      rows.push([info.redisKey, type, task, h.ownerId, duration(h.ageMs), duration(h.ttlMs)]);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join("  ")).join("\n");
}

/** `diracx-tasks locks list|release`: what holds which lock, and an operator override. */
export function locksCommand(ctx: CliContext): Command {
  const locks = new Command("locks");

  locks
    .command("list")
    .description("List held locks and limiters with their holder task, age and TTL")
    .argument("[pattern]", "Redis glob on the lock key, or a substring of it")
    .option("--json", "print JSON instead of a table")
    .addOption(redisUrlOption())
    .action(async (pattern: string | undefined, opts: { json?: boolean; redisUrl?: string }) => {
      const infos = await withManager(ctx, opts.redisUrl, (m) => m.list(pattern));
      if (opts.json) process.stdout.write(`${JSON.stringify(infos, null, 2)}\n`);
      else if (infos.length === 0) process.stdout.write(`no locks held${pattern ? ` matching '${pattern}'` : ""}\n`);
      else process.stdout.write(`${table(infos)}\n`);
    });

  locks
    .command("release")
    .description("Force-release a lock or limiter, whoever holds it (exit 1 if nobody does)")
    .argument("<key>", "the lock's Redis key, as shown by `locks list`")
    .option("-y, --yes", "do not ask for confirmation")
    .addOption(redisUrlOption())
    .action(async (key: string, opts: { yes?: boolean; redisUrl?: string }) => {
      await withManager(ctx, opts.redisUrl, async (m) => {
        const [info] = (await m.list(key)).filter((i) => i.redisKey === key);
        if (!info) throw new DiracxError(`lock ${key} is not held`);
        if (!opts.yes && process.stdin.isTTY) {
          const tasks = info.holders.map((h) => h.taskName ?? h.taskId ?? h.ownerId).join(", ");
          if (!(await confirm(`Release ${key} held by ${tasks}? The holder keeps running unprotected until it notices.`))) {
            throw new DiracxError(`not released: ${key}`);
          }
        }
        if (!(await m.forceRelease(key))) throw new DiracxError(`lock ${key} is not held`);
        process.stdout.write(`released ${key}\n`);
      });
    });

  return locks;
}
