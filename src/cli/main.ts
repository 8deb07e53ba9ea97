import { Command, CommanderError } from "commander";
import { ConfigError } from "../config/errors.ts";
import { tolerateClosedStdout } from "../logging.ts";
import { readCliContext, type CliContext } from "./context.ts";
import { addExtensionCommands } from "./extension-commands.ts";

/**
 * The subcommands, one line each: name, the summary `diracx-tasks --help` shows, and the module
 * that builds the full command. A module is imported only when its command runs (or its own
 * --help is asked for), so the top-level help loads none of BullMQ, S3, OpenSearch or PGlite.
 * The summary lives here only; the module's Command gets it from this table.
 */
const COMMANDS: ReadonlyArray<readonly [name: string, summary: string, load: (ctx: CliContext) => Promise<Command>]> = [
  ["entrypoints", "list the entry-point registry (nothing is imported unless --check)", async () => (await import("./commands/entrypoints.ts")).entrypointsCommand()],
  ["locks", "Inspect and release locks and limiters held in Redis", async (ctx) => (await import("./commands/locks.ts")).locksCommand(ctx)],
  ["db", "Manage the SQL databases", async () => (await import("./commands/db.ts")).dbCommand()],
  ["scheduler", "reconcile periodic schedules with the registry and configuration (at start, on config change, after a broker wipe)", async (ctx) => (await import("./commands/scheduler.ts")).schedulerCommand(ctx)],
  ["schedules", "inspect and control periodic schedules", async (ctx) => (await import("./commands/schedules.ts")).schedulesCommand(ctx)],
  ["dlq", "Inspect, resubmit and delete dead-lettered tasks (TaskDB)", async (ctx) => (await import("./commands/dlq.ts")).dlqCommand(ctx)],
  ["call", "run a task in-process and print its result as JSON (last line of stdout)", async (ctx) => (await import("./commands/call.ts")).callCommand(ctx)],
  ["submit", "submit a task to its queue and print its task id", async (ctx) => (await import("./commands/submit.ts")).submitCommand(ctx)],
  ["worker", "run tasks of one size class", async (ctx) => (await import("./commands/worker.ts")).workerCommand(ctx)],
  ["tasks", "list registered tasks with their effective schedule per VO (configuration applied)", async (ctx) => (await import("./commands/tasks.ts")).tasksCommand(ctx)],
  ["status", "show queue depths per size and priority, delayed and running tasks, workers online", async (ctx) => (await import("./commands/status.ts")).statusCommand(ctx)],
  ["dev", "run the whole system locally (redis-server child, PGlite, scheduler, workers of every size, the HTTP API) with demo jobs and a live summary", async (ctx) => (await import("./commands/dev.ts")).devCommand(ctx)],
  ["serve", "serve the HTTP API (DiracX routers that start background work, the operator API, health)", async (ctx) => (await import("./commands/serve.ts")).serveCommand(ctx)],
  ["show", "show a task by the id submit printed: state, queue, priority, args, labels, attempts with errors, parent and children, result", async (ctx) => (await import("./commands/task-control.ts")).showCommand(ctx)],
  ["cancel", "cancel a waiting or delayed task", async (ctx) => (await import("./commands/task-control.ts")).cancelCommand(ctx)],
  ["retry", "retry a failed task", async (ctx) => (await import("./commands/task-control.ts")).retryCommand(ctx)],
  ["promote", "run a delayed task now", async (ctx) => (await import("./commands/task-control.ts")).promoteCommand(ctx)],
  ["queue", "pause or resume the queue of one task size", async (ctx) => (await import("./commands/task-control.ts")).queueCommand(ctx)],
  ["config", "work with the DiracX configuration (config check)", async (ctx) => (await import("./commands/config.ts")).configCommand(ctx)],
];

/** The subcommand `argv` runs: the first operand (`help <command>` counts as that command). */
function selected(argv: readonly string[]): string | undefined {
  const operands = argv.slice(2).filter((a) => !a.startsWith("-"));
  return operands[0] === "help" ? operands[1] : operands[0];
}

/**
 * Builds the `diracx-tasks` command tree for `argv`: the command it runs is loaded in full
 * (src/cli/commands/<name>.ts), every other one is a name and summary for the help.
 */
export async function buildProgram(argv: readonly string[] = process.argv, ctx: CliContext = readCliContext()): Promise<Command> {
  const program = new Command("diracx-tasks")
    .description("DiracX background task system")
    .showHelpAfterError()
    // Lets a command and its subcommand share a flag name (`tasks --json`, `tasks list --json`).
    .enablePositionalOptions()
    .exitOverride();
  const wanted = selected(argv);
  for (const [name, summary, load] of COMMANDS) {
    program.addCommand((name === wanted ? await load(ctx) : new Command(name)).description(summary));
  }
  return program;
}

/** Runs the CLI and returns the process exit code; errors are one clear line on stderr. */
export async function main(argv: string[]): Promise<number> {
  tolerateClosedStdout();
  try {
    // Every setting a command reads, read once here, before any command module loads: a bad
    // value stops whichever command runs, with one line naming the variable.
    const ctx = readCliContext();
    const program = await buildProgram(argv, ctx);
    await addExtensionCommands(program, argv);
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`diracx-tasks: ${err instanceof Error ? err.message : String(err)}\n`);
    // Every problem of a bad configuration, not only the first the message names.
    if (err instanceof ConfigError && err.problems.length > 1) process.stderr.write(err.problems.map((p) => `  ${p}\n`).join(""));
    return 1;
  }
}
