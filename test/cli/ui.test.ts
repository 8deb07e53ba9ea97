import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createLiveBlock, createProgress, formatTable, type OutputStream } from "../../src/cli/ui.ts";

/** A stream that records what was written (a pipe, as far as the helpers can tell). */
function capture(isTTY = false): OutputStream & { text: () => string } {
  const chunks: string[] = [];
  return { isTTY, write: (c: string) => chunks.push(c), text: () => chunks.join("") };
}

describe("createProgress", () => {
  test("writes a start line, one line per 10% step crossed, and a final line", () => {
    const out = capture();
    const p = createProgress({ label: "deleting sandboxes", total: 200, stream: out });
    for (let i = 0; i < 200; i++) p.increment();
    p.stop();
    p.stop(); // idempotent
    const lines = out.text().trimEnd().split("\n");
    assert.equal(lines[0], "deleting sandboxes: started, 200 to do");
    assert.deepEqual(lines.slice(1, 4), ["deleting sandboxes: 20/200 (10%)", "deleting sandboxes: 40/200 (20%)", "deleting sandboxes: 60/200 (30%)"]);
    assert.equal(lines.length, 1 + 9 + 1);
    assert.equal(lines.at(-1), "deleting sandboxes: done, 200/200 (100%)");
  });

  test("big jumps write one line, not one per step skipped", () => {
    const out = capture();
    const p = createProgress({ label: "x", total: 10, stream: out });
    p.update(7);
    p.update(7);
    p.stop();
    assert.equal(out.text(), "x: started, 10 to do\nx: 7/10 (70%)\nx: done, 7/10 (70%)\n");
  });

  test("an unknown total reports only the count at the end; a total set later is used", () => {
    const out = capture();
    const p = createProgress({ label: "scanning", stream: out });
    p.increment(5);
    p.increment(5);
    p.stop();
    assert.equal(out.text(), "scanning: started\nscanning: done, 10\n");

    const out2 = capture();
    const q = createProgress({ label: "batch", stream: out2, stepPercent: 50 });
    q.setTotal(4);
    q.increment(2);
    q.increment(2);
    q.stop();
    assert.equal(out2.text(), "batch: started\nbatch: 2/4 (50%)\nbatch: done, 4/4 (100%)\n");
  });

  test("on a terminal it draws a bar and ends with the full count", () => {
    const out = Object.assign(capture(true), { cursorTo: () => true, clearLine: () => true, moveCursor: () => true, columns: 120 });
    const p = createProgress({ label: "resubmitting", total: 3, stream: out });
    p.increment(3);
    p.stop();
    assert.match(out.text(), /resubmitting \[.*\] 3\/3 100%/);
  });

  test("in a CI log (CliContext.ci) a terminal gets plain lines", () => {
    const out = Object.assign(capture(true), { cursorTo: () => true, clearLine: () => true, moveCursor: () => true, columns: 120 });
    const p = createProgress({ label: "resubmitting", total: 3, stream: out, ci: true });
    p.increment(3);
    p.stop();
    assert.equal(out.text(), "resubmitting: started, 3 to do\nresubmitting: done, 3/3 (100%)\n");
  });
});

describe("formatTable", () => {
  const rows = [
    { name: "jobs:CleanSandboxStoreTask", size: "medium", depth: 3, next: new Date("2026-01-02T06:00:00.000Z") },
    { name: "lollygag:SyncOwnersTask", size: "small", depth: 1250, next: undefined },
  ];
  const columns = [
    { header: "TASK", value: (r: (typeof rows)[number]) => r.name },
    { header: "SIZE", value: (r: (typeof rows)[number]) => r.size },
    { header: "DEPTH", value: (r: (typeof rows)[number]) => r.depth },
    { header: "NEXT RUN", value: (r: (typeof rows)[number]) => r.next },
  ];

  test("aligns columns, right-aligns numbers, shows '-' for missing values, no trailing spaces", () => {
    assert.equal(
      formatTable(rows, columns),
      [
        "TASK                        SIZE    DEPTH  NEXT RUN",
        "jobs:CleanSandboxStoreTask  medium      3  2026-01-02T06:00:00Z",
        "lollygag:SyncOwnersTask     small    1250  -",
        "",
      ].join("\n"),
    );
  });

  test("explicit alignment wins; ANSI colour codes take no width", () => {
    const t = formatTable([{ s: "\x1b[32mok\x1b[0m" }, { s: "failed" }], [{ header: "S", value: (r: { s: string }) => r.s, align: "right" }]);
    assert.equal(t, "     S\n    \x1b[32mok\x1b[0m\nfailed\n");
  });

  test("no rows: the header alone, or the given empty text", () => {
    assert.equal(formatTable([], columns), "TASK  SIZE  DEPTH  NEXT RUN\n");
    assert.equal(formatTable([], columns, { empty: "no schedules" }), "no schedules\n");
  });
});

describe("createLiveBlock", () => {
  test("appends the block only when it changed, with no cursor movement", () => {
    const out = capture();
    const block = createLiveBlock(out);
    block.render(["queued 3", "running 1"]);
    block.render(["queued 3", "running 1"]);
    block.render(["queued 2", "running 2"]);
    block.done();
    assert.equal(out.text(), "queued 3\nrunning 1\nqueued 2\nrunning 2\n");
    assert.doesNotMatch(out.text(), /\x1b/);
  });

  test("on a terminal it redraws in place over the previous block", () => {
    const out = Object.assign(capture(true), { columns: 80 });
    const block = createLiveBlock(out);
    block.render(["a", "b"]);
    block.render(["c", "d"]);
    assert.equal(out.text(), "\x1b[0Ja\nb\n\x1b[2F\x1b[0Jc\nd\n");
    const ci = Object.assign(capture(true), { columns: 80 });
    const plain = createLiveBlock(ci, { ci: true });
    plain.render(["a", "b"]);
    plain.render(["c", "d"]);
    assert.equal(ci.text(), "a\nb\nc\nd\n", "a CI log is never redrawn");
  });
});
