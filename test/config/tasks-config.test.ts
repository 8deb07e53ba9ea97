import assert from "node:assert/strict";
import { describe, it } from "node:test";
import YAML from "yaml";
import { ConfigError } from "../../src/config/errors.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { parseConfig } from "../../src/config/source.ts";
import {
  checkTasksConfig,
  resolveObjectLimit,
  resolveTaskSettings,
  TasksConfigSchema,
  type TaskDefaults,
  type TasksConfig,
} from "../../src/config/tasks-config.ts";

function tasks(yaml: string): TasksConfig {
  return TasksConfigSchema.parse(YAML.parse(yaml));
}

function configError(tasksYaml: string): string {
  const doc = `Registry: { lhcb: {} }\nTasks:\n${tasksYaml.replace(/^/gm, "  ")}`;
  try {
    parseConfig(doc, ConfigSchema, "default.yml");
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  assert.fail("configuration was accepted");
}

const CLEAN = "sandbox:CleanSandboxStoreTask";
const codeDefaults: TaskDefaults = {
  schedule: { kind: "cron", expression: "0 6 * * *" },
  retry: { maxRetries: 3, baseDelaySeconds: 5 },
  limits: { concurrency: { limit: 1 } },
};

const sample = tasks(`
common:
  ${CLEAN}:
    schedule: { cron: "0 */2 * * *", timezone: Europe/Zurich }
    retry: { maxRetries: 5 }
    limits:
      rate: { limit: 100, windowSeconds: 60 }
      concurrency: { limit: 5 }
      perObject:
        storage_element:
          default: { concurrency: { limit: 10 } }
          CERN-EOS: { concurrency: { limit: 2 } }
  wms:OptimizeJobTask:
    limits: { rate: { limit: 50 } }
vo-overrides:
  lhcb:
    ${CLEAN}:
      schedule: { interval: 600 }
      limits:
        rate: { limit: 200 }
        perObject:
          storage_element:
            default: { concurrency: { limit: 20 }, rate: { limit: 7, windowSeconds: 1 } }
            RAL-ECHO: { rate: { limit: 3 } }
  gridpp:
    ${CLEAN}: { enabled: false }
    wms:OptimizeJobTask:
      limits: { rate: null }
`);

describe("resolveTaskSettings", () => {
  it("gives code defaults for a task the configuration does not mention", () => {
    const r = resolveTaskSettings(sample, "jobs:Unmentioned", "lhcb", codeDefaults);
    assert.equal(r.enabled, true);
    assert.deepEqual(r.schedule, { kind: "cron", expression: "0 6 * * *" });
    assert.deepEqual(r.retry, { maxRetries: 3, baseDelaySeconds: 5 });
    assert.deepEqual(r.limits, { concurrency: { limit: 1 } });
    assert.deepEqual(r.schedules, [{ variant: undefined, args: {}, schedule: { kind: "cron", expression: "0 6 * * *" } }]);
    assert.deepEqual(resolveTaskSettings(undefined, "a:B").limits, {});
  });

  it("applies common over code defaults, field by field", () => {
    const r = resolveTaskSettings(sample, CLEAN, undefined, codeDefaults);
    assert.deepEqual(r.schedule, { kind: "cron", expression: "0 */2 * * *", timezone: "Europe/Zurich" });
    assert.deepEqual(r.retry, { maxRetries: 5, baseDelaySeconds: 5 });
    assert.deepEqual(r.limits, { rate: { limit: 100, windowSeconds: 60 }, concurrency: { limit: 5 } });
  });

  it("applies the VO override over common, keeping what the VO does not set", () => {
    const r = resolveTaskSettings(sample, CLEAN, "lhcb", codeDefaults);
    assert.deepEqual(r.schedule, { kind: "interval", seconds: 600 });
    assert.deepEqual(r.limits, { rate: { limit: 200, windowSeconds: 60 }, concurrency: { limit: 5 } });
    assert.deepEqual(r.retry, { maxRetries: 5, baseDelaySeconds: 5 });
    // Another VO without an override sees common.
    assert.deepEqual(resolveTaskSettings(sample, CLEAN, "atlas", codeDefaults).limits.rate, { limit: 100, windowSeconds: 60 });
  });

  it("disables a task for one VO only", () => {
    const off = resolveTaskSettings(sample, CLEAN, "gridpp", codeDefaults);
    assert.equal(off.enabled, false);
    assert.deepEqual(off.schedules, []);
    assert.equal(resolveTaskSettings(sample, CLEAN, "lhcb", codeDefaults).enabled, true);
  });

  it("lets null remove an inherited limit", () => {
    assert.deepEqual(resolveTaskSettings(sample, "wms:OptimizeJobTask").limits, { rate: { limit: 50, windowSeconds: 60 } });
    assert.deepEqual(resolveTaskSettings(sample, "wms:OptimizeJobTask", "gridpp").limits, {});
  });

  it("defaults an unset rate window", () => {
    assert.deepEqual(resolveTaskSettings(sample, "wms:OptimizeJobTask").limits.rate?.windowSeconds, 60);
  });
});

describe("resolveObjectLimit", () => {
  it("uses the object's own entry, else the type's default, else nothing", () => {
    const common = resolveTaskSettings(sample, CLEAN);
    assert.deepEqual(resolveObjectLimit(common, "storage_element", "CERN-EOS"), { concurrency: { limit: 2 } });
    assert.deepEqual(resolveObjectLimit(common, "storage_element", "IN2P3"), { concurrency: { limit: 10 } });
    assert.deepEqual(resolveObjectLimit(common, "transformation", "42"), {});
  });

  it("keeps an object's own limit over a default set by a later layer", () => {
    const lhcb = resolveTaskSettings(sample, CLEAN, "lhcb");
    // CERN-EOS's own concurrency (common) beats the VO's storage_element default; the VO
    // default's rate, which CERN-EOS does not set, still applies to it.
    assert.deepEqual(resolveObjectLimit(lhcb, "storage_element", "CERN-EOS"), {
      concurrency: { limit: 2 },
      rate: { limit: 7, windowSeconds: 1 },
    });
    assert.deepEqual(resolveObjectLimit(lhcb, "storage_element", "RAL-ECHO"), {
      concurrency: { limit: 20 },
      rate: { limit: 3, windowSeconds: 1 },
    });
    assert.deepEqual(resolveObjectLimit(lhcb, "storage_element", "IN2P3"), {
      concurrency: { limit: 20 },
      rate: { limit: 7, windowSeconds: 1 },
    });
  });
});

describe("variants", () => {
  const cfg = tasks(`
common:
  jobs:ReportTask:
    variants:
      daily: { args: { period: day } }
      weekly: { args: { period: week }, schedule: "0 7 * * 1" }
vo-overrides:
  lhcb:
    jobs:ReportTask:
      variants:
        weekly: null
        hourly: { args: { period: hour }, schedule: { rrule: "FREQ=HOURLY;BYMINUTE=5" } }
  gridpp:
    jobs:ReportTask:
      variants:
        daily: { enabled: false }
`);
  const defaults: TaskDefaults = { schedule: { kind: "cron", expression: "0 6 * * *" }, args: { period: "default" } };

  it("turns each variant into its own schedule with its own args, replacing the default run", () => {
    assert.deepEqual(resolveTaskSettings(cfg, "jobs:ReportTask", undefined, defaults).schedules, [
      { variant: "daily", args: { period: "day" }, schedule: { kind: "cron", expression: "0 6 * * *" } },
      { variant: "weekly", args: { period: "week" }, schedule: { kind: "cron", expression: "0 7 * * 1" } },
    ]);
  });

  it("lets a VO add, remove and disable variants", () => {
    assert.deepEqual(resolveTaskSettings(cfg, "jobs:ReportTask", "lhcb", defaults).schedules, [
      { variant: "daily", args: { period: "day" }, schedule: { kind: "cron", expression: "0 6 * * *" } },
      { variant: "hourly", args: { period: "hour" }, schedule: { kind: "rrule", rule: "FREQ=HOURLY;BYMINUTE=5" } },
    ]);
    assert.deepEqual(
      resolveTaskSettings(cfg, "jobs:ReportTask", "gridpp", defaults).schedules.map((s) => s.variant),
      ["weekly"],
    );
  });

  it("gives no schedule to a task without one", () => {
    assert.deepEqual(resolveTaskSettings(cfg, "wms:NotPeriodic", "lhcb").schedules, []);
  });
});

describe("tasks configuration errors", () => {
  it("refuses a misspelt section with its path", () => {
    assert.equal(configError("vo_overrides: {}"), "invalid configuration default.yml: Tasks.vo_overrides: unknown key");
  });

  it("refuses a misspelt field deep inside", () => {
    assert.equal(
      configError("common:\n  a:B:\n    limits: { concurency: { limit: 3 } }"),
      "invalid configuration default.yml: Tasks.common.a:B.limits.concurency: unknown key",
    );
  });

  it("refuses a task key that is not a task id", () => {
    assert.match(configError("common:\n  CleanTask: {}"), /Tasks\.common\.CleanTask: invalid key: expected a task id '<category>:<TaskClass>'$/);
  });

  it("refuses bad schedules with the reason", () => {
    assert.match(configError(`common:\n  a:B: { schedule: "61 * * * *" }`), /Tasks\.common\.a:B\.schedule\.cron: invalid cron expression '61 \* \* \* \*': .*minute/);
    assert.match(configError(`common:\n  a:B: { schedule: { interval: 5, cron: "* * * * *" } }`), /Tasks\.common\.a:B\.schedule: give only one of cron, interval$/);
    assert.match(configError(`common:\n  a:B: { schedule: {} }`), /Tasks\.common\.a:B\.schedule: expected one of cron, interval, rrule$/);
    assert.match(configError(`common:\n  a:B: { schedule: { cron: "0 6 * * *", timezone: Mars/Olympus } }`), /schedule\.timezone: unknown time zone 'Mars\/Olympus'/);
    assert.match(configError(`common:\n  a:B: { schedule: { interval: 60, timezone: UTC } }`), /schedule\.timezone: a time zone is only allowed with cron/);
    assert.match(configError(`common:\n  a:B: { schedule: { rrule: "FREQ=SOMETIMES" } }`), /schedule\.rrule: invalid RRULE 'FREQ=SOMETIMES'/);
    assert.match(configError(`common:\n  a:B: { schedule: { interval: -1 } }`), /schedule\.interval: invalid interval -1: expected a positive number of seconds/);
  });

  it("accepts cron with seconds and time zone", () => {
    const r = resolveTaskSettings(tasks(`common:\n  a:B: { schedule: { cron: "*/30 * * * * *", timezone: UTC } }`), "a:B");
    assert.deepEqual(r.schedule, { kind: "cron", expression: "*/30 * * * * *", timezone: "UTC" });
  });

  it("refuses bad limits", () => {
    assert.match(configError(`common:\n  a:B: { limits: { rate: { limit: 0 } } }`), /Tasks\.common\.a:B\.limits\.rate\.limit: Too small/);
    assert.match(configError(`common:\n  a:B: { retry: { maxRetries: 1.5 } }`), /Tasks\.common\.a:B\.retry\.maxRetries: expected int/);
  });
});

describe("checkTasksConfig", () => {
  it("reports unknown tasks, VOs, lock types and schedules on non-periodic tasks", () => {
    const problems = checkTasksConfig(sample, {
      taskIds: [CLEAN, "wms:OptimizeJobTask"],
      periodicTaskIds: [],
      vos: ["lhcb"],
      lockObjectTypes: ["task", "job"],
    });
    assert.deepEqual(problems, [
      `Tasks.common.${CLEAN}.schedule: '${CLEAN}' is not a periodic task`,
      `Tasks.common.${CLEAN}.limits.perObject.storage_element: unknown lock object type (known: task, job)`,
      `Tasks.vo-overrides.lhcb.${CLEAN}.schedule: '${CLEAN}' is not a periodic task`,
      `Tasks.vo-overrides.lhcb.${CLEAN}.limits.perObject.storage_element: unknown lock object type (known: task, job)`,
      "Tasks.vo-overrides.gridpp: unknown VO (Registry has: lhcb)",
    ]);
  });

  it("suggests the right task id for a near miss", () => {
    const problems = checkTasksConfig(tasks("common:\n  jobs:CleanSandboxStoreTask: {}"), { taskIds: [CLEAN] });
    assert.deepEqual(problems, [`Tasks.common.jobs:CleanSandboxStoreTask: unknown task (did you mean '${CLEAN}'?)`]);
  });
});
