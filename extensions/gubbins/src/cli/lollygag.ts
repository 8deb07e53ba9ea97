// `diracx-tasks lollygag`: gubbins' own subcommand (`diracx.cli`).
import { Command } from "commander";
import { closeAllEngines } from "diracx-tasks/db";
import { LollygagDB } from "../db/lollygag-db.ts";

export function command(): Command {
  const cmd = new Command("lollygag").description("gubbins: inspect the lollygag owners");
  cmd
    .command("owners")
    .description("list the owners in LollygagDB (oldest first)")
    .action(async () => {
      try {
        for (const name of await LollygagDB.fromEnv<LollygagDB>().getOwners()) process.stdout.write(`${name}\n`);
      } finally {
        await closeAllEngines();
      }
    });
  return cmd;
}
