// A node:test reporter that counts leaf tests and writes the totals to the file
// named by DIRACX_TEST_SUMMARY_FILE, for scripts/test.ts to print as its last line.
import fs from "node:fs";

export default async function* summaryReporter(source) {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const data = event.data;
    if (data.details?.type === "suite") continue;
    if (data.skip || data.todo) counts.skipped++;
    else if (event.type === "test:pass") counts.passed++;
    else counts.failed++;
  }
  const file = process.env.DIRACX_TEST_SUMMARY_FILE;
  if (file) fs.writeFileSync(file, JSON.stringify(counts));
  yield "";
}
