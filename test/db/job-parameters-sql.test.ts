import { after } from "node:test";
import { closeAllEngines, getEngine } from "../../src/db/sql/engine.ts";
import { SqlJobParametersDB } from "../../src/db/os/sql-job-parameters-db.ts";
import { backends } from "./backends.ts";
import { jobParametersContract } from "./job-parameters-contract.ts";

after(() => closeAllEngines());

for (const backend of backends) {
  jobParametersContract(`SqlJobParametersDB on ${backend.name}`, async () => new SqlJobParametersDB(getEngine(await backend.url())));
}
