import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BrokerConnection } from "../../src/redis-cluster.ts";
import { RedisServer, flushBroker } from "../support/redis.ts";
import { ConfigSource } from "../../src/config/source.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { Scheduler } from "../../src/scheduler/scheduler.ts";
import { computeDesiredSchedules, desiredFromConfig } from "../../src/scheduler/desired.ts";
import { ScheduleAdmin } from "../../src/scheduler/admin.ts";
import type { ReconcileReport } from "../../src/scheduler/reconcile.ts";
import { connect, periodic, waitFor } from "./support.ts";

let server: RedisServer;
let redis: BrokerConnection;

before(async () => {
  server = await RedisServer.start();
  redis = connect(server.url);
});
after(async () => {
  redis.disconnect();
  await server.stop();
});

describe("desired schedules", () => {
  test("a task disabled in code or in the configuration has no schedule; variants and overrides apply per VO", () => {
    const tasks = [
      periodic("demo:Off", { kind: "interval", seconds: 60 }, { enabled: false }),
      periodic("demo:OffByConfig", { kind: "interval", seconds: 60 }),
      periodic("demo:PerVo", { kind: "cron", expression: "0 6 * * *" }, { voAware: true }),
    ];
    const { schedules, problems } = computeDesiredSchedules(tasks, {
      vos: ["lhcb", "gridpp"],
      tasksConfig: {
        common: { "demo:OffByConfig": { enabled: false }, "demo:PerVo": { schedule: { kind: "interval", seconds: 30 } } },
        "vo-overrides": {
          lhcb: { "demo:PerVo": { variants: { fast: { args: { n: 1 }, schedule: { kind: "interval", seconds: 5 } }, slow: { args: { n: 2 } } } } },
        },
      },
    });
    assert.deepEqual(problems, []);
    const byId = new Map(schedules.map((s) => [s.id, s]));
    assert.deepEqual([...byId.keys()].sort(), ["demo:PerVo@gridpp", "demo:PerVo@lhcb#fast", "demo:PerVo@lhcb#slow"]);
    assert.deepEqual(byId.get("demo:PerVo@gridpp")!.spec, { kind: "interval", seconds: 30 }, "common override");
    assert.deepEqual(byId.get("demo:PerVo@lhcb#fast")!.spec, { kind: "interval", seconds: 5 }, "variant override");
    assert.deepEqual(byId.get("demo:PerVo@lhcb#slow")!.args, { n: 2, vo: "lhcb" });
    assert.equal(byId.get("demo:PerVo@lhcb#fast")!.template.data.meta?.labels?.vo, "lhcb");
    assert.equal(byId.get("demo:PerVo@gridpp")!.queue, "tasks-small");
    assert.equal(byId.get("demo:PerVo@gridpp")!.template.opts.priority, 1, "normal priority maps to the engine's BullMQ priority");
  });
});

describe("reconcile", () => {
  test("one bad schedule (invalid cron, exhausted RRULE) is reported for itself; the others are created", async () => {
    const tasks = [
      periodic("demo:Good", { kind: "cron", expression: "0 6 * * *" }),
      periodic("demo:BadCron", { kind: "cron", expression: "not a cron" }),
      periodic("demo:BadZone", { kind: "cron", expression: "0 6 * * *", timezone: "Nowhere/Atlantis" }),
      periodic("demo:Exhausted", { kind: "rrule", rule: "DTSTART:20200101T000000Z\nRRULE:FREQ=DAILY;COUNT=2" }),
    ];
    const scheduler = new Scheduler({ redis, desired: () => computeDesiredSchedules(tasks, { vos: [], tasksConfig: undefined }) });
    try {
      const report = await scheduler.start();
      assert.deepEqual(report.upserted, ["demo:Good"]);
      assert.deepEqual(report.problems.map((p) => p.id).sort(), ["demo:BadCron", "demo:BadZone", "demo:Exhausted"]);
      assert.match(report.problems.find((p) => p.id === "demo:BadCron")!.message, /^schedule demo:BadCron: invalid cron expression 'not a cron': expected 5 fields/);
      assert.match(report.problems.find((p) => p.id === "demo:Exhausted")!.message, /no future occurrence/);
      const admin = new ScheduleAdmin(redis);
      const list = await admin.list();
      await admin.close();
      const good = list.find((s) => s.id === "demo:Good")!;
      assert.ok(good.nextRunAt && good.nextRunAt > Date.now(), "the good schedule has a next run");
      assert.match(list.find((s) => s.id === "demo:BadZone")!.problem ?? "", /Nowhere\/Atlantis/);
    } finally {
      await scheduler.stop();
    }
  });

  test("per-VO schedules follow VOs added to and removed from the configuration file, without a restart", async () => {
    await flushBroker(redis);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sched-cfg-"));
    const file = path.join(dir, "default.yml");
    const doc = (vos: string[]): string => `Registry:\n${vos.map((v) => `  ${v}:\n    Groups: {}\n`).join("")}`;
    fs.writeFileSync(file, doc(["lhcb"]));
    const source = await ConfigSource.fromPath(file, ConfigSchema, { debounceMs: 20, pollIntervalMs: 200 });
    const tasks = [periodic("demo:PerVo", { kind: "cron", expression: "0 6 * * *" }, { voAware: true }), periodic("demo:Global", { kind: "interval", seconds: 3600 })];
    const scheduler = new Scheduler({
      redis,
      desired: desiredFromConfig(tasks, source, { current: () => source.current().Tasks }),
      onConfigChange: (listener) => source.onChange(() => listener()),
    });
    const nextConfigReconcile = (): Promise<ReconcileReport> =>
      new Promise((resolve) => {
        const on = (report: ReconcileReport, reason: string): void => {
          if (reason !== "config") return;
          scheduler.off("reconciled", on);
          resolve(report);
        };
        scheduler.on("reconciled", on);
      });
    const ids = async (): Promise<string[]> => (await scheduler.queues.get("tasks-small")!.getJobSchedulers()).map((s) => s.key).sort();
    try {
      await scheduler.start();
      assert.deepEqual(await ids(), ["demo:Global", "demo:PerVo@lhcb"]);

      let reconciled = nextConfigReconcile();
      fs.writeFileSync(file, doc(["lhcb", "gridpp"]));
      assert.deepEqual((await reconciled).upserted, ["demo:PerVo@gridpp"]);
      assert.deepEqual(await ids(), ["demo:Global", "demo:PerVo@gridpp", "demo:PerVo@lhcb"]);

      reconciled = nextConfigReconcile();
      fs.writeFileSync(file, doc(["gridpp"]));
      assert.deepEqual((await reconciled).removed, ["demo:PerVo@lhcb"]);
      assert.deepEqual(await ids(), ["demo:Global", "demo:PerVo@gridpp"]);
    } finally {
      await scheduler.stop();
      source.close();
    }
  });
});

describe("configuration shared with the engine", () => {
  test("a limit set in the configuration file is what the engine's limits hook sees, next to the schedules", async () => {
    const { limitsFromTasksConfig } = await import("../../src/engine/limits.ts");
    const { RateLimiter } = await import("../../src/locks/index.ts");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sched-lim-"));
    const file = path.join(dir, "default.yml");
    fs.writeFileSync(
      file,
      'Registry:\n  lhcb:\n    Groups: {}\nTasks:\n  common:\n    "demo:PerVo":\n      schedule: { interval: 60 }\n  vo-overrides:\n    lhcb:\n      "demo:PerVo":\n        limits: { rate: { limit: 7, windowSeconds: 30 } }\n',
    );
    const source = await ConfigSource.fromPath(file, ConfigSchema, { watch: false });
    try {
      const limitsFor = limitsFromTasksConfig(() => source.current().Tasks);
      // lhcb's own limit is lhcb's own pool (limits.ts).
      const locks = limitsFor("demo:PerVo", "lhcb", [new RateLimiter("task", "PerVo")]);
      assert.deepEqual(
        locks.map((l) => [l.constructor.name, l.key, (l as InstanceType<typeof RateLimiter>).limit, (l as InstanceType<typeof RateLimiter>).windowSeconds]),
        [["RateLimiter", "PerVo:lhcb", 7, 30]],
      );
      const desired = desiredFromConfig([periodic("demo:PerVo", { kind: "cron", expression: "0 6 * * *" }, { voAware: true })], source, { current: () => source.current().Tasks })();
      assert.deepEqual(desired.schedules.map((s) => [s.id, s.spec]), [["demo:PerVo@lhcb", { kind: "interval", seconds: 60 }]]);
    } finally {
      source.close();
    }
  });
});
