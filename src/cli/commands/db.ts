import { Command } from "commander";
import { initDatabases, initJobParameters } from "../../db/init.ts";
import { closeAllEngines } from "../../db/sql/engine.ts";
import { getRegistry } from "../../registry/index.ts";

/** `diracx-tasks db …`: database administration. */
export function dbCommand(): Command {
  const db = new Command("db");
  db.command("init")
    .description("Create or upgrade every registered SQL database at its DIRACX_DB_URL_<NAME> (safe to repeat)")
    .option("--db <name...>", "only these databases")
    .action(async (opts: { db?: string[] }) => {
      try {
        const results = await initDatabases(await getRegistry(), { only: opts.db });
        for (const r of results) {
          const n = r.applied.length;
          const impl = r.className !== r.dbName ? ` (${r.className})` : "";
          process.stdout.write(n === 0 ? `${r.dbName}${impl}: up to date\n` : `${r.dbName}${impl}: applied ${n} migration${n === 1 ? "" : "s"} (${r.applied.map((m) => `${m.scope} ${m.version}: ${m.name}`).join("; ")})\n`);
        }
        // The job parameters store is not a diracx.dbs.sql entry: its index template (or table) too.
        if (!opts.db?.length) {
          const backend = await initJobParameters();
          if (backend) process.stdout.write(`JobParametersDB (${backend === "sql" ? "SQL-backed" : "OpenSearch"}): index template ready\n`);
        }
      } finally {
        await closeAllEngines();
      }
    });
  return db;
}
