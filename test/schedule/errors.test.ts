import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError } from "../../src/config/errors.ts";
import { ConfigSchema, type DiracxConfig } from "../../src/config/schema.ts";
import { ConfigSource } from "../../src/config/source.ts";
import { CronSchedule, IntervalSchedule, RRuleSchedule, ScheduleError, nextOccurrence, type ScheduleSpec } from "../../src/schedule/index.ts";
import { diracxRepeatStrategy } from "../../src/scheduler/repeat-strategy.ts";

// One bad schedule of each kind, written three ways: in task code, in a configuration file at
// start, and in a configuration file picked up by hot reload.
const cases: Array<{ what: string; code: () => unknown; yaml: string; field: string; spec: ScheduleSpec; message: string }> = [
  {
    what: "an unknown time zone",
    code: () => new CronSchedule("0 6 * * *", { timezone: "Mars/Olympus" }),
    yaml: `{ cron: "0 6 * * *", timezone: Mars/Olympus }`,
    field: "timezone",
    spec: { kind: "cron", expression: "0 6 * * *", timezone: "Mars/Olympus" },
    message: "unknown time zone 'Mars/Olympus' (expected an IANA name such as Europe/Zurich)",
  },
  {
    what: "a 7-field cron",
    code: () => new CronSchedule("0 0 6 * * * 2030"),
    yaml: `{ cron: "0 0 6 * * * 2030" }`,
    field: "cron",
    spec: { kind: "cron", expression: "0 0 6 * * * 2030" },
    message: "invalid cron expression '0 0 6 * * * 2030': expected 5 fields, or 6 with seconds first, got 7",
  },
  {
    what: "a cron with an out-of-range minute",
    code: () => new CronSchedule("61 * * * *"),
    yaml: `"61 * * * *"`,
    field: "cron",
    spec: { kind: "cron", expression: "61 * * * *" },
    message: "invalid cron expression '61 * * * *': CronPattern: Invalid value for minute: 61",
  },
  {
    what: "a negative interval",
    code: () => new IntervalSchedule(-5),
    yaml: `{ interval: -5 }`,
    field: "interval",
    spec: { kind: "interval", seconds: -5 },
    message: "invalid interval -5: expected a positive number of seconds",
  },
  {
    what: "a bad RRULE",
    code: () => new RRuleSchedule("FREQ=SOMETIMES"),
    yaml: `{ rrule: "FREQ=SOMETIMES" }`,
    field: "rrule",
    spec: { kind: "rrule", rule: "FREQ=SOMETIMES" },
    message: "invalid RRULE 'FREQ=SOMETIMES': Invalid frequency: undefined undefined",
  },
];

const dirs: string[] = [];
const sources: ConfigSource<DiracxConfig>[] = [];
after(() => {
  for (const s of sources) s.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function configFile(schedule: string | undefined): string {
  return `Registry: { lhcb: {} }\n${schedule === undefined ? "" : `Tasks:\n  common:\n    "demo:Tick": { schedule: ${schedule} }\n`}`;
}

function written(dir: string, text: string): string {
  const file = path.join(dir, "default.yml");
  const tmp = `${file}.${process.hrtime.bigint()}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  return file;
}

describe("a bad schedule is refused with the same error wherever it is written", () => {
  for (const c of cases) {
    it(c.what, async () => {
      // Task code: at construction, not when the scheduler first asks for a date.
      assert.throws(c.code, (err: unknown) => err instanceof ScheduleError && err.message === c.message);
      assert.throws(() => nextOccurrence(c.spec, new Date()), (err: unknown) => err instanceof ScheduleError && err.message === c.message);

      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-schedule-"));
      dirs.push(dir);
      const file = written(dir, configFile(c.yaml));
      const expected = `invalid configuration ${file}: Tasks.common.demo:Tick.schedule.${c.field}: ${c.message}`;

      // Configuration file at start.
      await assert.rejects(ConfigSource.fromPath(dir, ConfigSchema, { watch: false }), (err: unknown) => err instanceof ConfigError && err.message === expected);

      // Hot reload: refused with the same line, the previous configuration stays.
      written(dir, configFile(undefined));
      const source = await ConfigSource.fromPath(dir, ConfigSchema, { watch: false });
      sources.push(source);
      const rejected = new Promise<ConfigError>((resolve) => source.onError(resolve));
      written(dir, configFile(c.yaml));
      assert.equal(await source.reload(), false);
      assert.equal((await rejected).message, expected);
      assert.equal(source.current().Tasks, undefined);
    });
  }

  it("a stored job scheduler with a bad schedule stops only itself (no next run), it does not throw into BullMQ", () => {
    assert.equal(diracxRepeatStrategy(Date.now(), { pattern: "cron:0 6 * * *", tz: "Mars/Olympus" }, "demo:Tick"), undefined);
    assert.equal(typeof diracxRepeatStrategy(Date.now(), { pattern: "cron:0 6 * * *", tz: "Europe/Zurich" }, "demo:Tick"), "number");
  });
});
