import { Command, CommanderError } from "commander";
import { ConfigError } from "../config/errors.ts";
import { logSettingsProblem } from "../logging.ts";
import { callCommand } from "./commands/call.ts";
import { dbCommand } from "./commands/db.ts";
import { dlqCommand } from "./commands/dlq.ts";
import { addExtensionCommands } from "./extension-commands.ts";
import { devCommand } from "./commands/dev.ts";
import { entrypointsCommand } from "./commands/entrypoints.ts";
import { locksCommand } from "./commands/locks.ts";
import { schedulerCommand } from "./commands/scheduler.ts";
import { schedulesCommand } from "./commands/schedules.ts";
import { serveCommand } from "./commands/serve.ts";
import { statusCommand } from "./commands/status.ts";
import { submitCommand } from "./commands/submit.ts";
import { tasksCommand } from "./commands/tasks.ts";
import { cancelCommand, promoteCommand, queueCommand, retryCommand, showCommand } from "./commands/task-control.ts";
import { configCommand } from "./commands/config.ts";
import { workerCommand } from "./commands/worker.ts";

/** Builds the `diracx-tasks` command tree. Each subcommand lives in its own module under src/cli/commands/. */
export function buildProgram(): Command {
  const program = new Command("diracx-tasks")
    .description("DiracX background task system")
    .showHelpAfterError()
    // Lets a command and its subcommand share a flag name (`tasks --json`, `tasks list --json`).
    .enablePositionalOptions()
    .exitOverride();
  program.addCommand(entrypointsCommand());
  program.addCommand(locksCommand());
  program.addCommand(dbCommand());
  program.addCommand(schedulerCommand());
  program.addCommand(schedulesCommand());
  program.addCommand(dlqCommand());
  program.addCommand(callCommand());
  program.addCommand(submitCommand());
  program.addCommand(workerCommand());
  program.addCommand(tasksCommand());
  program.addCommand(statusCommand());
  program.addCommand(devCommand());
  program.addCommand(serveCommand());
  program.addCommand(showCommand());
  program.addCommand(cancelCommand());
  program.addCommand(retryCommand());
  program.addCommand(promoteCommand());
  program.addCommand(queueCommand());
  program.addCommand(configCommand());
  return program;
}

/** Runs the CLI and returns the process exit code; errors are one clear line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const logProblem = logSettingsProblem();
  if (logProblem) {
    process.stderr.write(`diracx-tasks: ${logProblem}\n`);
    return 1;
  }
  const program = buildProgram();
  try {
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
