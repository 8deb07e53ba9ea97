import { Command } from "commander";
import { DiracxError } from "../../errors.ts";
import { isSize, SIZES, type Size } from "../../engine/priorities.ts";
import {
  cancelTask,
  followTask,
  getTask,
  isListableState,
  LISTABLE_STATES,
  listTasks,
  pauseQueue,
  promoteTask,
  resumeQueue,
  retryTask,
  type ControlResult,
  type TaskOpsDeps,
  type TaskView,
} from "../../ops/tasks.ts";
import { withEngine } from "../broker.ts";
import type { CliContext } from "../context.ts";
import { formatTable, type OutputStream } from "../ui.ts";

/*
 * Task inspection and control from the CLI: thin wrappers over src/ops/tasks.ts, which the
 * HTTP `tasks` router calls too.
 */

export interface CommandIO {
  stdout: OutputStream;
  stderr: OutputStream;
}

const STD_IO: CommandIO = { stdout: process.stdout, stderr: process.stderr };

/** Default bound of `show --follow`: a command never waits forever. */
const DEFAULT_FOLLOW_SECONDS = 300;

function positiveInt(flag: string, text: string, allowZero = false): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || (!allowZero && n === 0)) throw new DiracxError(`${flag} must be a ${allowZero ? "non-negative" : "positive"} integer, got '${text}'`);
  return n;
}

function sizeArg(text: string): Size {
  if (!isSize(text)) throw new DiracxError(`unknown queue size '${text}' (known: ${SIZES.join(", ")})`);
  return text;
}

function notFound(taskId: string): DiracxError {
  return new DiracxError(`no task ${taskId} in Redis (never submitted, or removed after its retention period; a dead-lettered one is in 'dlq list --task …')`);
}

function render(v: TaskView): string {
  const lines = [
    `task id:         ${v.taskId}`,
    `task:            ${v.task}`,
    `state:           ${v.state}${v.runAt ? ` (runs at ${v.runAt})` : ""}`,
    `queue:           ${v.queue} (${v.size}), priority ${v.priority}`,
    `args:            ${JSON.stringify(v.args)}`,
    `labels:          ${JSON.stringify(v.labels)}`,
    `first submitted: ${v.firstSubmittedAt}`,
    `queued:          ${v.queuedAt}`,
    ...(v.startedAt ? [`started:         ${v.startedAt}`] : []),
    ...(v.finishedAt ? [`finished:        ${v.finishedAt}`] : []),
    `attempts:        ${v.attempts}${v.deferrals ? `, deferred ${v.deferrals} time(s) by busy locks` : ""}`,
  ];
  for (const h of v.history) {
    lines.push(`  attempt ${h.attempt} ${h.outcome} after ${h.durationMs} ms${h.error ? `: ${h.error.type}: ${h.error.message}` : ""}`);
  }
  if (v.parent) lines.push(`parent:          ${v.parent.taskId}${v.parent.task ? ` ${v.parent.task}` : ""} (${v.parent.state})`);
  if (v.children.length) {
    lines.push("children:");
    for (const c of v.children) lines.push(`  ${c.taskId} ${c.task ?? ""} ${c.state}${c.failedReason ? `: ${c.failedReason}` : ""}`);
  }
  if (v.locks.length) {
    lines.push("locks held:");
    for (const l of v.locks) lines.push(`  ${l.type}${l.mode ? `(${l.mode})` : ""} ${l.objectType}:${l.key}`);
  }
  if (v.state === "completed") lines.push(`result:          ${JSON.stringify(v.result ?? null)}`);
  if (v.failedReason) lines.push(`failed:          ${v.failedReason}`);
  return `${lines.join("\n")}\n`;
}

/** Aborts on Ctrl-C / SIGTERM so `--follow` ends (and closes its connections) when interrupted. */
function interruptSignal(): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return { signal: ac.signal, dispose: () => (process.off("SIGINT", stop), process.off("SIGTERM", stop)) };
}

/** `diracx-tasks show <task-id>`: one task's state, attempts, parent/children and result. */
export function showCommand(ctx: CliContext, io: CommandIO = STD_IO): Command {
  return new Command("show")
    .description("show a task by the id submit printed: state, queue, priority, args, labels, attempts with errors, parent and children, result")
    .argument("<task-id>", "the id submit printed")
    .option("--json", "print JSON")
    .option("--follow", "wait for a final state (completed or failed); exits 1 unless completed")
    .option("--timeout <seconds>", `with --follow: give up after this long (default ${DEFAULT_FOLLOW_SECONDS})`)
    .action(async (taskId: string, opts: { json?: boolean; follow?: boolean; timeout?: string }) => {
      if (opts.timeout !== undefined && !opts.follow) throw new DiracxError("--timeout only applies with --follow");
      const timeoutMs = positiveInt("--timeout", opts.timeout ?? String(DEFAULT_FOLLOW_SECONDS)) * 1000;
      await withEngine(ctx, async (engine) => {
        const deps: TaskOpsDeps = { producer: engine.producer, lockManager: engine.lockManager };
        let view: TaskView | undefined;
        let final = true;
        if (opts.follow) {
          const stop = interruptSignal();
          try {
            ({ view, final } = await followTask(deps, taskId, { timeoutMs, signal: stop.signal }));
          } finally {
            stop.dispose();
          }
        } else view = await getTask(deps, taskId);
        if (!view) throw notFound(taskId);
        io.stdout.write(opts.json ? `${JSON.stringify(view)}\n` : render(view));
        if (!opts.follow) return;
        if (!final) throw new DiracxError(`task ${taskId} is still ${view.state} (gave up waiting after ${timeoutMs / 1000} s or when interrupted)`);
        if (view.state !== "completed") throw new DiracxError(`task ${taskId} ${view.state}: ${view.failedReason ?? "no reason recorded"}`);
      });
    });
}

/** `diracx-tasks tasks list --state …`: tasks in one state, optionally of one task id. */
export function tasksListCommand(ctx: CliContext, io: CommandIO = STD_IO): Command {
  return new Command("list")
    .description("list queued, running or finished tasks in one state")
    .requiredOption("--state <state>", `one of ${LISTABLE_STATES.join(", ")}`)
    .option("--task <id>", "only this task (<category>:<Class>)")
    .option("--size <size>", `only this queue (${SIZES.join(", ")})`)
    .option("--limit <n>", "at most this many", "100")
    .option("--offset <n>", "skip this many", "0")
    .option("--json", "print JSON ({tasks, total, offset})")
    .action(async (opts: { state: string; task?: string; size?: string; limit: string; offset: string; json?: boolean }) => {
      if (!isListableState(opts.state)) throw new DiracxError(`--state: unknown state '${opts.state}' (known: ${LISTABLE_STATES.join(", ")})`);
      const state = opts.state;
      const limit = positiveInt("--limit", opts.limit);
      const offset = positiveInt("--offset", opts.offset, true);
      const size = opts.size === undefined ? undefined : sizeArg(opts.size);
      await withEngine(ctx, async (engine) => {
        if (opts.task) engine.tasks.get(opts.task); // an unknown task id is refused with "did you mean"
        const page = await listTasks({ producer: engine.producer }, { state, limit, offset, ...(opts.task ? { task: opts.task } : {}), ...(size ? { size } : {}) });
        if (opts.json) {
          io.stdout.write(`${JSON.stringify(page)}\n`);
          return;
        }
        io.stdout.write(
          formatTable(
            page.tasks,
            [
              { header: "TASK ID", value: (t) => t.taskId },
              { header: "TASK", value: (t) => t.task },
              { header: "SIZE", value: (t) => t.size },
              { header: "PRIORITY", value: (t) => t.priority },
              { header: "ATTEMPTS", value: (t) => t.attempts },
              { header: state === "delayed" ? "RUNS AT" : state === "completed" || state === "failed" ? "FINISHED" : "QUEUED", value: (t) => (state === "delayed" ? t.runAt : (t.finishedAt ?? t.queuedAt)) },
              ...(state === "failed" ? [{ header: "REASON", value: (t: { failedReason?: string }) => t.failedReason }] : []),
            ],
            { empty: `no ${state} tasks${opts.task ? ` of ${opts.task}` : ""}` },
          ),
        );
        if (page.total > offset + page.tasks.length) io.stderr.write(`${page.total - offset - page.tasks.length} more (use --offset ${offset + page.tasks.length})\n`);
      });
    });
}

function controlCommand(ctx: CliContext, name: string, description: string, op: (deps: TaskOpsDeps, id: string) => Promise<ControlResult>, done: string, io: CommandIO): Command {
  return new Command(name)
    .description(description)
    .argument("<task-id>", "the id submit printed")
    .action(async (taskId: string) => {
      await withEngine(ctx, async (engine) => {
        const r = await op({ producer: engine.producer }, taskId);
        if (!r.ok) throw new DiracxError(r.reason);
        io.stdout.write(`${done} ${taskId}\n`);
      });
    });
}

export function cancelCommand(ctx: CliContext, io: CommandIO = STD_IO): Command {
  return controlCommand(ctx, "cancel", "remove a waiting or delayed task before it runs", cancelTask, "cancelled", io);
}

export function retryCommand(ctx: CliContext, io: CommandIO = STD_IO): Command {
  return controlCommand(ctx, "retry", "put a failed task back on its queue for another round of attempts", retryTask, "requeued", io);
}

export function promoteCommand(ctx: CliContext, io: CommandIO = STD_IO): Command {
  return controlCommand(ctx, "promote", "run a delayed task now", promoteTask, "promoted", io);
}

/** `diracx-tasks queue pause|resume <size>`. */
export function queueCommand(ctx: CliContext, io: CommandIO = STD_IO): Command {
  const queue = new Command("queue").description("pause or resume the queue of one task size");
  for (const [verb, op] of [
    ["pause", pauseQueue],
    ["resume", resumeQueue],
  ] as const) {
    queue
      .command(verb)
      .description(verb === "pause" ? "workers of this size take no new tasks (running ones finish)" : "workers of this size take tasks again")
      .argument("<size>", SIZES.join("|"))
      .action(async (sizeText: string) => {
        const size = sizeArg(sizeText);
        await withEngine(ctx, async (engine) => {
          const r = await op({ producer: engine.producer }, size);
          io.stdout.write(`${r.queue}: ${r.paused ? "paused" : "running"}\n`);
        });
      });
  }
  return queue;
}
