// `npm run docs:job-data-schema`: writes docs/job-data.schema.json, the JSON Schema of a task
// job's data, from the one zod schema the worker validates with (src/engine/job-validation.ts).
// test/engine/job-data-schema.test.ts fails when the file is stale.
import fs from "node:fs";
import path from "node:path";
import { jobDataJsonSchema } from "../src/engine/job-validation.ts";

export const SCHEMA_FILE = path.resolve(import.meta.dirname, "../docs/job-data.schema.json");

export function renderJobDataSchema(): string {
  return `${JSON.stringify(jobDataJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  fs.writeFileSync(SCHEMA_FILE, renderJobDataSchema());
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
}
