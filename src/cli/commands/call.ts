import { randomUUID } from "node:crypto";
import inspector from "node:inspector";
import { Command, Option } from "commander";
import { withProducer } from "../../engine/context.ts";
import { runAttempt } from "../../engine/execution.ts";
import { lockOwnerId } from "../../engine/keys.ts";
import { validateArgs } from "../../engine/producer.ts";
import { withEngine } from "../broker.ts";
import { logger } from "../../logging.ts";
import { payloadFrom } from "./task-input.ts";
import type { CliContext } from "../context.ts";

function stopInDebugger(reason: string, detail?: unknown): void {
  if (!inspector.url()) inspector.open(0);
  process.stderr.write(`diracx-tasks call: ${reason}; waiting for a debugger on ${inspector.url()}\n`);
  inspector.waitForDebugger();
  // eslint-disable-next-line no-debugger
  debugger; // `detail` is in scope here
  void detail;
}

/** `diracx-tasks call`: runs one task in this process (limiters skipped, structural locks taken). */
export function callCommand(ctx: CliContext): Command {
  return new Command("call")
    .argument("<task>", "task id, <category>:<Class>")
    .option("--args <json-list>", "positional payload values, in the order of the task's args fields")
    .option("--kwargs <json-object>", "payload fields by name")
    .addOption(new Option("--debugger <when>", "stop in the inspector before executing or on an exception").choices(["before", "exception"]))
    .action(async (taskId: string, opts: { args?: string; kwargs?: string; debugger?: "before" | "exception" }) => {
      await withEngine(ctx, async (engine) => {
        const cls = engine.tasks.get(taskId);
        const args = validateArgs(taskId, cls, payloadFrom(cls, taskId, opts.args, opts.kwargs));
        const runId = `call-${randomUUID()}`;
        const log = logger.child({ taskId: runId, task: taskId, attempt: 1, size: cls.size, priority: cls.priority, interactive: true });
        // Children spawned by the task (ctx.schedule or task.schedule) go to the real queues
        // (upstream's `call` could not spawn).
        const outcome = await withProducer(engine.producer, () => runAttempt({
          id: taskId,
          cls,
          args,
          taskId: runId,
          attempt: 1,
          logger: () => log,
          submitter: engine.producer,
          openUnitOfWork: engine.openUnitOfWork,
          lockManager: engine.lockManager,
          lockOwner: lockOwnerId(runId, "call"),
          lockTtlMs: 30_000,
          skipLimiters: true,
          ...(opts.debugger === "before" ? { beforeExecute: () => stopInDebugger("stopping before execute", args) } : {}),
        }));
        if (outcome.kind === "completed") {
          process.stdout.write(`${JSON.stringify(outcome.value ?? null)}\n`);
          return;
        }
        if (outcome.kind === "deferred") throw new Error(`cannot run ${taskId} now: lock ${outcome.blockedBy} is held by another task`);
        if (outcome.kind === "failed") {
          if (opts.debugger === "exception") stopInDebugger("the task failed", outcome.error);
          const err = outcome.error;
          throw new Error(`task ${taskId} failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
        }
        throw new Error(`task ${taskId} was interrupted`);
      });
    });
}
