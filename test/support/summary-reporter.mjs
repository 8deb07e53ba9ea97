// A node:test reporter that counts leaf tests and writes the totals to the file
// named by DIRACX_TEST_SUMMARY_FILE, for scripts/test.ts to print as its last line.
// The file is rewritten after every result: the runner runs with --test-force-exit,
// which may end the process before a reporter's last step.
import fs from "node:fs";

export default async function* summaryReporter(source) {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  const file = process.env.DIRACX_TEST_SUMMARY_FILE;
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const data = event.data;
    if (data.details?.type === "suite") continue;
    if (data.skip || data.todo) counts.skipped++;
    else if (event.type === "test:pass") counts.passed++;
    else counts.failed++;
    if (file) fs.writeFileSync(file, JSON.stringify(counts));
  }
  if (file) fs.writeFileSync(file, JSON.stringify(counts));
  yield "";
}
