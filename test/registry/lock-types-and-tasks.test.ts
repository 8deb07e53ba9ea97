import assert from "node:assert/strict";
import path from "node:path";
import { after, describe, it } from "node:test";
import { assertLockObjectType, LockObjectTypeError, loadLockObjectTypes, lockObjectTypes, registerLockObjectType } from "../../src/locks/object-types.ts";
import { EntryPointError, getRegistry, loadRegistry, loadTaskClass, resetRegistryCache, taskEntries } from "../../src/registry/index.ts";
import { coreSpec, extensionSpec, PackageTree, REPO_ROOT } from "./package-tree.ts";

const trees: PackageTree[] = [];
after(() => trees.forEach((t) => t.remove()));

/**
 * A plain-JavaScript extension as the application root, with the REAL diracx-tasks linked into
 * its node_modules, so its modules `import ... from "diracx-tasks"` exactly as a published
 * extension would.
 */
function jsExtension(name: string, entryPoints: Record<string, Record<string, string>>, files: Record<string, string>): PackageTree {
  const t = PackageTree.create();
  trees.push(t);
  t.pkg(name, extensionSpec(name, { supportedVersion: ">=0.1.0", entryPoints, files }));
  t.link(`${name}/node_modules/diracx-tasks`, REPO_ROOT);
  return t;
}

const registering = (type: string) => `import { registerLockObjectType } from "diracx-tasks";\nexport const TYPE = registerLockObjectType(${JSON.stringify(type)});\n`;

describe("lock object types", () => {
  it("has the built-in types and refuses unknown ones, listing the known", () => {
    assert.deepEqual(lockObjectTypes().slice(0, 3), ["task", "job", "transformation"]);
    assert.equal(assertLockObjectType("job"), "job");
    assert.throws(() => assertLockObjectType("nope"), (err: Error) => {
      assert.ok(err instanceof LockObjectTypeError);
      assert.match(err.message, /^unknown lock object type 'nope' \(known: task, job, transformation(, [\w-]+)*\)$/);
      return true;
    });
  });

  it("registers types from a plain-JavaScript extension importing diracx-tasks (one module instance)", async () => {
    const t = jsExtension("jsext", { "diracx.lock_object_types": { jsext: "./lock-types.js" } }, { "lock-types.js": registering("jsext_type") });
    const registry = await loadRegistry({ appRoot: t.path("jsext") });
    assert.deepEqual(registry.extensions, ["jsext", "diracx"]);
    assert.equal(registry.coreVersion, (await import("../../package.json", { with: { type: "json" } })).default.version);
    assert.throws(() => assertLockObjectType("jsext_type"), /unknown lock object type 'jsext_type'/);
    await loadLockObjectTypes(registry);
    assert.equal(assertLockObjectType("jsext_type"), "jsext_type");
    // Loading again imports nothing twice and so registers nothing twice.
    await loadLockObjectTypes(registry);
    assert.equal(lockObjectTypes().filter((n) => n === "jsext_type").length, 1);
  });

  it("registers gubbins' lollygag and my_pilot types through its entry points", async () => {
    const registry = await loadRegistry({ appRoot: path.join(REPO_ROOT, "extensions/gubbins") });
    await loadLockObjectTypes(registry);
    assert.equal(assertLockObjectType("lollygag"), "lollygag");
    assert.equal(assertLockObjectType("my_pilot"), "my_pilot");
  });

  it("refuses a duplicate type, naming the first and the second entry", async () => {
    const t = jsExtension(
      "dupext",
      { "diracx.lock_object_types": { first: "./a.js", second: "./b.js" } },
      { "a.js": registering("dup_type"), "b.js": registering("dup_type") },
    );
    const registry = await loadRegistry({ appRoot: t.path("dupext") });
    await assert.rejects(loadLockObjectTypes(registry), (err: Error) => {
      assert.ok(err instanceof LockObjectTypeError);
      assert.equal(
        err.message,
        `lock object type 'dup_type' is registered twice: first by package 'dupext' group 'diracx.lock_object_types' entry 'first' ("./a.js"), then by package 'dupext' group 'diracx.lock_object_types' entry 'second' ("./b.js")`,
      );
      return true;
    });
  });

  it("refuses re-registering a built-in type, and names direct registrations", async () => {
    const t = jsExtension("jobext", { "diracx.lock_object_types": { job: "./job.js" } }, { "job.js": registering("job") });
    const registry = await loadRegistry({ appRoot: t.path("jobext") });
    await assert.rejects(loadLockObjectTypes(registry), /^LockObjectTypeError: lock object type 'job' is registered twice: first by diracx-tasks \(built-in\), then by package 'jobext' group 'diracx.lock_object_types' entry 'job' \("\.\/job\.js"\)$/);
    registerLockObjectType("direct_type");
    assert.throws(() => registerLockObjectType("direct_type"), /first by code outside the lock_object_types entry points, then by code outside/);
    assert.throws(() => registerLockObjectType("Bad Name"), /invalid lock object type 'Bad Name'/);
  });
});

describe("task entries", () => {
  const tasks = [
    "export class SyncOwnersTask {}",
    "export class RenamedTask {}",
    "export const notAClass = () => 1;",
  ].join("\n");

  async function taskRegistry() {
    const t = PackageTree.create();
    trees.push(t);
    const root = t.pkg("app", { name: "app", dependencies: { "diracx-tasks": "*", ext: "*" } });
    t.pkg("app/node_modules/diracx-tasks", coreSpec({ entryPoints: { "diracx.tasks.jobs": { CoreTask: "./tasks.js:CoreTask" } } }));
    t.pkg("app/node_modules/ext", {
      ...extensionSpec("ext", {
        entryPoints: { "diracx.tasks.lollygag": { SyncOwnersTask: "./tasks.js:SyncOwnersTask", OtherName: "./tasks.js:RenamedTask", Fn: "./tasks.js:notAClass" } },
      }),
      files: { "tasks.js": tasks },
    });
    return loadRegistry({ appRoot: root });
  }

  it("lists task ids as <category>:<Name> without importing", async () => {
    const registry = await taskRegistry();
    assert.deepEqual(registry.taskGroups(), ["diracx.tasks.jobs", "diracx.tasks.lollygag"]);
    assert.deepEqual(taskEntries(registry).map((e) => e.id), ["jobs:CoreTask", "lollygag:SyncOwnersTask", "lollygag:OtherName", "lollygag:Fn"]);
  });

  it("loads a task class whose entry name equals its class name", async () => {
    const registry = await taskRegistry();
    const entry = registry.find("diracx.tasks.lollygag", "SyncOwnersTask")!;
    const cls = await loadTaskClass(registry, entry);
    assert.equal(cls.name, "SyncOwnersTask");
  });

  it("refuses an entry named differently from its class, or not a class", async () => {
    const registry = await taskRegistry();
    await assert.rejects(loadTaskClass(registry, registry.find("diracx.tasks.lollygag", "OtherName")!), (err: Error) => {
      assert.ok(err instanceof EntryPointError);
      assert.match(err.message, /^package 'ext' group 'diracx.tasks.lollygag' entry 'OtherName' .*exports class 'RenamedTask' but the entry is named 'OtherName'/);
      return true;
    });
    await assert.rejects(loadTaskClass(registry, registry.find("diracx.tasks.lollygag", "Fn")!), /entry 'Fn' .*export 'notAClass' is a function, expected a class$/);
  });
});

describe("getRegistry", () => {
  it("builds the registry of DIRACX_APP_ROOT once per process", async (t) => {
    const tree = jsExtension("cached", {}, {});
    const previous = process.env.DIRACX_APP_ROOT;
    t.after(() => {
      if (previous === undefined) delete process.env.DIRACX_APP_ROOT;
      else process.env.DIRACX_APP_ROOT = previous;
      resetRegistryCache();
    });
    process.env.DIRACX_APP_ROOT = tree.path("cached");
    resetRegistryCache();
    const first = await getRegistry();
    assert.deepEqual(first.extensions, ["cached", "diracx"]);
    assert.equal(await getRegistry(), first);
  });
});
