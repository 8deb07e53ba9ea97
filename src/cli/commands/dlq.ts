import { Command, Option } from "commander";
import { DiracxError } from "../../errors.ts";
import { configuredDbUrl, dbUrlEnvVar } from "../../db/sql/base.ts";
import { closeEngine, getEngine } from "../../db/sql/engine.ts";
import { DEAD_LETTER_STATUSES, TaskDB, type DeadLetter, type DeadLetterFilter, type DeadLetterStatus } from "../../db/sql/task-db.ts";
import { parseAge, resubmitDeadLetter } from "../../engine/dead-letter.ts";
import { Producer } from "../../engine/producer.ts";
import { TaskRegistry } from "../../engine/task-registry.ts";
import { getRegistry } from "../../registry/index.ts";
import { assertBrokerReachable } from "../../engine/connection.ts";
import type { CliContext } from "../context.ts";
import { confirm, createProgress, formatTable, type OutputStream } from "../ui.ts";

interface FilterOpts {
  task?: string;
  vo?: string;
  status?: string;
  olderThan?: string;
}

interface DbOpts {
  dbUrl?: string;
}

const TASKDB_ENV = dbUrlEnvVar(TaskDB.dbName);

function dbUrlOption(): Option {
  return new Option("--db-url <url>", `TaskDB URL (default: ${TASKDB_ENV})`);
}

function filterOptions(cmd: Command, statusHelp: string): Command {
  return cmd
    .option("--task <id>", "only this task (<category>:<Class>)")
    .option("--vo <vo>", "only this VO")
    .option("--status <status>", `${statusHelp} (${DEAD_LETTER_STATUSES.join(", ")}, or all)`)
    .option("--older-than <age>", "only entries older than this (45s, 30m, 12h, 2d, 1w)");
}

function toFilter(opts: FilterOpts, defaultStatus: DeadLetterStatus | "all"): DeadLetterFilter {
  const status = opts.status ?? defaultStatus;
  if (status !== "all" && !(DEAD_LETTER_STATUSES as readonly string[]).includes(status)) {
    throw new DiracxError(`--status: unknown dead-letter status '${status}' (known: ${DEAD_LETTER_STATUSES.join(", ")}, all)`);
  }
  return {
    ...(opts.task ? { taskName: opts.task } : {}),
    ...(opts.vo ? { vo: opts.vo } : {}),
    ...(status !== "all" ? { status: status as DeadLetterStatus } : {}),
    ...(opts.olderThan ? { olderThan: new Date(Date.now() - parseAge(opts.olderThan)) } : {}),
  };
}

function hasFilter(opts: FilterOpts): boolean {
  return Boolean(opts.task || opts.vo || opts.olderThan || opts.status);
}

function parseId(text: string): number {
  const id = Number(text);
  if (!Number.isInteger(id) || id <= 0) throw new DiracxError(`dead-letter id must be a positive integer, got '${text}'`);
  return id;
}

async function withTaskDB<T>(ctx: CliContext, opts: DbOpts, fn: (db: TaskDB) => Promise<T>): Promise<T> {
  const url = opts.dbUrl ?? configuredDbUrl(TaskDB.dbName, ctx.env);
  if (!url) throw new DiracxError(`the dead-letter queue lives in TaskDB: set ${TASKDB_ENV} or pass --db-url`);
  try {
    return await fn(new TaskDB(getEngine(url)));
  } finally {
    await closeEngine(url);
  }
}

/** Every matching entry (paged, so ids are collected before any of them changes status). */
async function collect(db: TaskDB, filter: DeadLetterFilter): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  for (let offset = 0; ; offset += 500) {
    const page = await db.list(filter, { limit: 500, offset });
    out.push(...page);
    if (page.length < 500) return out;
  }
}

async function withProducer<T>(ctx: CliContext, fn: (p: Producer) => Promise<T>): Promise<T> {
  const settings = ctx.tasks; // read once, by the command runner: the broker, its bound and the payload bound
  const url = settings.redisUrl;
  await assertBrokerReachable(url, { timeoutMs: ctx.connectTimeoutMs });
  const producer = new Producer({ connection: url, registry: await TaskRegistry.load(await getRegistry()), maxPayloadBytes: settings.maxPayloadBytes });
  try {
    return await fn(producer);
  } finally {
    await producer.close();
  }
}

function firstLine(s: string | null): string {
  if (!s) return "-";
  const line = s.split("\n")[0]!;
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

/** Where the command writes (tests pass their own; the test runner owns process.stdout). */
export interface CommandIO {
  stdout: OutputStream;
  stderr: OutputStream;
}

/** `diracx-tasks dlq list|show|resubmit|discard|delete`: the dead-letter queue in TaskDB. */
export function dlqCommand(ctx: CliContext, io: CommandIO = { stdout: process.stdout, stderr: process.stderr }): Command {
  const dlq = new Command("dlq");

  filterOptions(dlq.command("list").description("List dead-letter entries, newest first"), "only this status (default: all)")
    .option("--limit <n>", "at most this many", "100")
    .option("--json", "print JSON")
    .addOption(dbUrlOption())
    .action(async (opts: FilterOpts & DbOpts & { limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit <= 0) throw new DiracxError(`--limit must be a positive integer, got '${opts.limit}'`);
      const filter = toFilter(opts, "all");
      await withTaskDB(ctx, opts, async (db) => {
        const rows = await db.list(filter, { limit });
        if (opts.json) {
          io.stdout.write(`${JSON.stringify(rows)}\n`);
          return;
        }
        io.stdout.write(
          formatTable(
            rows,
            [
              { header: "ID", value: (r) => r.id },
              { header: "TASK", value: (r) => r.taskName },
              { header: "VO", value: (r) => r.vo },
              { header: "STATUS", value: (r) => r.status },
              { header: "ATTEMPTS", value: (r) => r.attempts },
              { header: "CREATED", value: (r) => r.createdAt },
              { header: "LAST ERROR", value: (r) => `${r.lastErrorType ?? "?"}: ${firstLine(r.lastErrorMessage)}` },
            ],
            { empty: "no dead-letter entries" },
          ),
        );
      });
    });

  dlq
    .command("show")
    .description("Show one entry: arguments, labels and every attempt's error")
    .argument("<id>", "dead-letter id")
    .option("--json", "print JSON")
    .addOption(dbUrlOption())
    .action(async (idText: string, opts: DbOpts & { json?: boolean }) => {
      const id = parseId(idText);
      await withTaskDB(ctx, opts, async (db) => {
        const e = await db.get(id);
        if (!e) throw new DiracxError(`no dead-letter entry ${id}`);
        if (opts.json) {
          io.stdout.write(`${JSON.stringify(e)}\n`);
          return;
        }
        const lines = [
          `id:              ${e.id}`,
          `task:            ${e.taskName}`,
          `task id:         ${e.taskId}`,
          `status:          ${e.status}${e.resubmittedTaskId ? ` (as ${e.resubmittedTaskId})` : ""}`,
          `vo:              ${e.vo ?? "-"}`,
          `first submitted: ${e.firstSubmittedAt.toISOString()}`,
          `dead-lettered:   ${e.createdAt.toISOString()}`,
          `attempts:        ${e.attempts}`,
          `args:            ${JSON.stringify(e.args)}`,
          `labels:          ${JSON.stringify(e.labels)}`,
          "errors:",
        ];
        for (const err of e.errors) {
          lines.push(`  attempt ${err.attempt} at ${err.at}: ${err.type}: ${err.message}`);
          if (err.stack) lines.push(...err.stack.split("\n").slice(1).map((l) => `    ${l.trim()}`));
        }
        io.stdout.write(`${lines.join("\n")}\n`);
      });
    });

  filterOptions(
    dlq
      .command("resubmit")
      .description("Resubmit one entry, the pending entries matching a filter, or --all pending entries (each at most once)")
      .argument("[id]", "dead-letter id"),
    "only this status (default: pending; only pending entries can be resubmitted)",
  )
    .option("--all", "every pending entry")
    .addOption(dbUrlOption())
    .action(async (idText: string | undefined, opts: FilterOpts & DbOpts & { all?: boolean }) => {
      if (idText === undefined && !opts.all && !hasFilter(opts)) throw new DiracxError("dlq resubmit: give an entry id, a filter (--task, --vo, --older-than) or --all");
      if (idText !== undefined && (opts.all || hasFilter(opts))) throw new DiracxError("dlq resubmit: give either an entry id or a filter/--all, not both");
      await withTaskDB(ctx, opts, async (db) => {
        let entries: DeadLetter[];
        if (idText !== undefined) {
          const e = await db.get(parseId(idText));
          if (!e) throw new DiracxError(`no dead-letter entry ${idText}`);
          entries = [e];
        } else {
          entries = await collect(db, toFilter(opts, "pending"));
        }
        if (entries.length === 0) {
          io.stdout.write("nothing to resubmit: no pending dead-letter entry matches\n");
          return;
        }
        await withProducer(ctx, async (producer) => {
          const progress = createProgress({ label: "resubmitting", total: entries.length, stream: io.stderr, ci: ctx.ci });
          let ok = 0;
          const refused: string[] = [];
          for (const e of entries) {
            const r = await resubmitDeadLetter(db, producer, e);
            if (r.ok) {
              ok += 1;
              if (idText !== undefined) io.stdout.write(`resubmitted ${e.id} as ${r.taskId}\n`);
            } else refused.push(r.reason);
            progress.increment();
          }
          progress.stop();
          for (const reason of refused) io.stderr.write(`not resubmitted: ${reason}\n`);
          if (idText === undefined) io.stdout.write(`resubmitted ${ok} of ${entries.length}\n`);
          if (refused.length > 0) throw new DiracxError(idText !== undefined ? refused[0]! : `${refused.length} of ${entries.length} entries were not resubmitted`);
        });
      });
    });

  dlq
    .command("discard")
    .description("Give up on entries (kept for the record with status discarded; they can no longer be resubmitted)")
    .argument("<ids...>", "dead-letter ids")
    .addOption(dbUrlOption())
    .action(async (idTexts: string[], opts: DbOpts) => {
      const ids = idTexts.map(parseId);
      await withTaskDB(ctx, opts, async (db) => {
        const missed: number[] = [];
        for (const id of ids) {
          if (await db.markDiscarded(id)) io.stdout.write(`discarded ${id}\n`);
          else missed.push(id);
        }
        if (missed.length > 0) {
          throw new DiracxError(`not discarded (no such entry, or already resolved/discarded): ${missed.join(", ")}`);
        }
      });
    });

  filterOptions(
    dlq
      .command("delete")
      .description("Delete entries by id, by filter, or --all (asks for confirmation on a terminal)")
      .argument("[ids...]", "dead-letter ids"),
    "only this status (default: all)",
  )
    .option("--all", "every entry")
    .option("-y, --yes", "do not ask for confirmation")
    .addOption(dbUrlOption())
    .action(async (idTexts: string[], opts: FilterOpts & DbOpts & { all?: boolean; yes?: boolean }) => {
      if (idTexts.length === 0 && !opts.all && !hasFilter(opts)) throw new DiracxError("dlq delete: give entry ids, a filter (--task, --vo, --status, --older-than) or --all");
      if (idTexts.length > 0 && (opts.all || hasFilter(opts))) throw new DiracxError("dlq delete: give either entry ids or a filter/--all, not both");
      await withTaskDB(ctx, opts, async (db) => {
        const ids = idTexts.length > 0 ? idTexts.map(parseId) : (await collect(db, toFilter(opts, "all"))).map((e) => e.id);
        if (ids.length === 0) {
          io.stdout.write("no dead-letter entries to delete\n");
          return;
        }
        if (!opts.yes && process.stdin.isTTY) {
          if (!(await confirm(`Delete ${ids.length} dead-letter entr${ids.length === 1 ? "y" : "ies"}? They cannot be resubmitted afterwards.`))) {
            throw new DiracxError("nothing deleted");
          }
        }
        const n = await db.delete(ids);
        io.stdout.write(`deleted ${n}\n`);
        if (idTexts.length > 0 && n < ids.length) throw new DiracxError(`${ids.length - n} of the given ids did not exist`);
      });
    });

  return dlq;
}
