import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { ConfigSchema, listVOs } from "../../src/config/schema.ts";
import { TaskRegistry } from "../../src/engine/task-registry.ts";
import { loadLockObjectTypes } from "../../src/locks/object-types.ts";
import { tasksConfigProblems } from "../../src/config/config-check.ts";
import { loadRegistry } from "../../src/registry/index.ts";
import { parseConfig } from "../../src/config/source.ts";
import { resolveObjectLimit, resolveTaskSettings } from "../../src/config/tasks-config.ts";
import { findCompatiblePlatforms } from "../../src/resources/platforms.ts";

// The README's example document is what operators copy: it must load and mean what the text says.
const readme = fs.readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8");
const section = readme.slice(readme.indexOf("### The configuration document"));
const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];

describe("README configuration example", () => {
  it("loads and resolves as documented", () => {
    assert.ok(example, "README has a yaml example under 'The configuration document'");
    const config = parseConfig(example, ConfigSchema, "README.md");
    assert.deepEqual(findCompatiblePlatforms(["el8"], config), ["x86_64-el9", "x86_64-el8"]);
    const lhcb = resolveTaskSettings(config.Tasks, "lollygag:OwnerReportTask", "lhcb");
    assert.deepEqual(lhcb.limits.rate, { limit: 200, windowSeconds: 60 });
    assert.deepEqual(resolveObjectLimit(lhcb, "lollygag", "CERN-EOS"), { concurrency: { limit: 2 } });
    assert.deepEqual(lhcb.schedules.map((s) => s.variant), ["daily", "weekly"]);
    assert.deepEqual(resolveTaskSettings(config.Tasks, "sandbox:CleanSandboxStoreTask", "lhcb").limits.rate, { limit: 100, windowSeconds: 60 });
  });

  it("passes the cross-checks against core and the gubbins extension (tasks, VOs, lock types)", async () => {
    const config = parseConfig(example!, ConfigSchema, "README.md");
    const registry = await loadRegistry({ appRoot: path.resolve(import.meta.dirname, "../../extensions/gubbins") });
    await loadLockObjectTypes(registry);
    assert.deepEqual(tasksConfigProblems(config.Tasks, await TaskRegistry.load(registry), listVOs(config)), []);
  });
});
