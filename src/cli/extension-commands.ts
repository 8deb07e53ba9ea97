// Subcommands extensions add (`diracx.cli`) or add hidden (`diracx.cli.hidden`); a name equal
// to a core command replaces it.
import { Command } from "commander";
import { CLI_GROUP, CLI_HIDDEN_GROUP, getRegistry, type EntryPoint, type Registry } from "../registry/index.ts";
import { EntryPointError } from "../registry/errors.ts";

async function commandOf(registry: Registry, ep: EntryPoint): Promise<Command> {
  const exported = await registry.load<unknown>(ep);
  const cmd = typeof exported === "function" && !(exported instanceof Command) ? await (exported as () => unknown)() : exported;
  if (!(cmd instanceof Command)) throw new EntryPointError(ep, "is not a commander Command (or a function returning one)");
  if (cmd.name() !== ep.name) throw new EntryPointError(ep, `names its command '${cmd.name()}', not '${ep.name}'`);
  return cmd;
}

/**
 * Adds the registry's extension commands to `program`. Only the command being run is imported,
 * so a broken extension command does not break the others; `--help` lists the visible names.
 */
export async function addExtensionCommands(program: Command, argv: readonly string[], registry?: Registry): Promise<void> {
  let reg: Registry;
  try {
    reg = registry ?? (await getRegistry());
  } catch {
    // No application here (or a broken one): the core commands report it themselves when they need the registry.
    return;
  }
  const wanted = argv[2];
  for (const [group, hidden] of [[CLI_GROUP, false], [CLI_HIDDEN_GROUP, true]] as const) {
    for (const ep of reg.active(group)) {
      const existing = program.commands.find((c) => c.name() === ep.name);
      if (ep.name === wanted) {
        if (existing) (program.commands as Command[]).splice(program.commands.indexOf(existing), 1);
        program.addCommand(await commandOf(reg, ep), { hidden });
      } else if (!existing && !hidden) {
        // A placeholder keeps the name in --help without importing the extension's module.
        program.command(ep.name).description(`(${ep.package})`);
      }
    }
  }
}
