import { Command } from "commander";
import { DiracxError } from "../../errors.ts";
import { withEngine } from "../broker.ts";
import { payloadFrom } from "./task-input.ts";
import type { CliContext } from "../context.ts";

/** `diracx-tasks submit`: validates and enqueues one task, prints its id. */
export function submitCommand(ctx: CliContext): Command {
  return new Command("submit")
    .argument("<task>", "task id, <category>:<Class>")
    .option("--args <json-list>", "positional payload values, in the order of the task's args fields")
    .option("--kwargs <json-object>", "payload fields by name")
    .option("--delay <seconds>", "run after this many seconds")
    .option("--at <iso-time>", "run at this time (ISO 8601)")
    .action(async (taskId: string, opts: { args?: string; kwargs?: string; delay?: string; at?: string }) => {
      if (opts.delay !== undefined && opts.at !== undefined) throw new DiracxError("submit: give --delay or --at, not both");
      await withEngine(ctx, async (engine) => {
        const cls = engine.tasks.get(taskId);
        const delay = opts.delay === undefined ? undefined : Number(opts.delay);
        if (delay !== undefined && !(delay >= 0)) throw new DiracxError(`--delay must be a non-negative number of seconds, got '${opts.delay}'`);
        const at = opts.at === undefined ? undefined : new Date(opts.at);
        if (at && Number.isNaN(at.getTime())) throw new DiracxError(`--at is not an ISO 8601 time: '${opts.at}'`);
        const id = await engine.producer.submit(taskId, payloadFrom(cls, taskId, opts.args, opts.kwargs), {
          ...(delay !== undefined ? { delay: delay * 1000 } : {}),
          ...(at ? { at } : {}),
        });
        process.stdout.write(`${id}\n`);
      });
    });
}
