import assert from "node:assert/strict";
import path from "node:path";
import { after, describe, it } from "node:test";
import { EntryPointError, findAppRoot, loadRegistry, RegistryError } from "../../src/registry/index.ts";
import { coreSpec, extensionSpec, PackageTree } from "./package-tree.ts";

const trees: PackageTree[] = [];
function tree(): PackageTree {
  const t = PackageTree.create();
  trees.push(t);
  return t;
}
after(() => trees.forEach((t) => t.remove()));

type Platforms = (platforms: string[]) => string[];

/** An application package depending on the given packages, each installed under its node_modules. */
function app(t: PackageTree, installed: Record<string, Parameters<PackageTree["pkg"]>[1]>): string {
  const root = t.pkg("app", { name: "app", dependencies: Object.fromEntries(Object.keys(installed).map((n) => [n, "*"])) });
  for (const [dir, spec] of Object.entries(installed)) t.pkg(`app/node_modules/${dir}`, spec);
  return root;
}

describe("discovery and priority", () => {
  it("loads core alone with its version and resources", async () => {
    const t = tree();
    const root = app(t, { "diracx-tasks": coreSpec() });
    const registry = await loadRegistry({ appRoot: root });
    assert.equal(registry.appRoot, root);
    assert.deepEqual(registry.extensions, ["diracx"]);
    assert.equal(registry.coreVersion, "0.3.0");
    const find = await registry.resource<Platforms>("find_compatible_platforms");
    assert.deepEqual(find(["el9"]), ["core", "el9"]);
  });

  it("puts the extension first so its entry overrides core's of the same name", async () => {
    const t = tree();
    const root = app(t, {
      "diracx-tasks": coreSpec(),
      ext: extensionSpec("ext", {
        supportedVersion: "^0.3.0",
        entryPoints: { "diracx.resources": { find_compatible_platforms: "./platforms.js:findCompatiblePlatforms" } },
        files: { "platforms.js": 'export const findCompatiblePlatforms = (p) => ["ext", ...p];\n' },
      }),
    });
    const registry = await loadRegistry({ appRoot: root });
    assert.deepEqual(registry.extensions, ["ext", "diracx"]);
    const candidates = registry.candidates("diracx.resources", "find_compatible_platforms");
    assert.deepEqual(candidates.map((c) => [c.package, c.active]), [["ext", true], ["diracx-tasks", false]]);
    assert.equal(registry.find("diracx.resources", "find_compatible_platforms")?.package, "ext");
    assert.equal(registry.find("diracx.resources", "find_compatible_platforms")?.packageRoot, t.path("app/node_modules/ext"));
    assert.deepEqual(registry.active("diracx.resources").map((e) => e.package), ["ext"]);
    const find = await registry.resource<Platforms>("find_compatible_platforms");
    assert.deepEqual(find(["el9"]), ["ext", "el9"]);
  });

  it("ranks packages without an extension declaration after the extension and before core, by name", async () => {
    const t = tree();
    const entry = (pkg: string) => ({ "diracx.services": { shared: `./${pkg}.js:router` } });
    const root = app(t, {
      "diracx-tasks": coreSpec({ entryPoints: entry("core") }),
      ext: extensionSpec("ext", { entryPoints: entry("ext") }),
      "zz-helper": { name: "zz-helper", diracx: { entryPoints: entry("zz") } },
      "aa-helper": { name: "aa-helper", diracx: { entryPoints: entry("aa") } },
    });
    const registry = await loadRegistry({ appRoot: root });
    assert.deepEqual(registry.extensions, ["ext", "diracx"]);
    assert.deepEqual(registry.entries("diracx.services").map((e) => e.package), ["ext", "aa-helper", "zz-helper", "diracx-tasks"]);
  });

  it("refuses two extensions, naming both and their packages", async () => {
    const t = tree();
    const root = app(t, { "diracx-tasks": coreSpec(), "pkg-one": extensionSpec("one", { packageName: "pkg-one" }), "pkg-two": extensionSpec("two", { packageName: "pkg-two" }) });
    const err = await loadRegistry({ appRoot: root }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof RegistryError);
    assert.match(err.message, /at most one extension/);
    for (const part of ["'one'", "'two'", "package 'pkg-one'", "package 'pkg-two'"]) assert.ok(err.message.includes(part), err.message);
    assert.doesNotMatch(err.message, /\n/);
  });

  it("refuses an extension whose supportedVersion excludes the core version", async () => {
    const t = tree();
    const root = app(t, { "diracx-tasks": coreSpec({ version: "0.3.0" }), ext: extensionSpec("ext", { supportedVersion: ">=0.1.0 <0.2.0" }) });
    await assert.rejects(loadRegistry({ appRoot: root }), (err: Error) => {
      assert.ok(err instanceof RegistryError);
      assert.equal(err.message, "extension 'ext' (package 'ext') supports diracx-tasks >=0.1.0 <0.2.0 but the installed core 'diracx-tasks' is version 0.3.0");
      return true;
    });
  });

  it("refuses an invalid supportedVersion range", async () => {
    const t = tree();
    const root = app(t, { "diracx-tasks": coreSpec(), ext: extensionSpec("ext", { supportedVersion: "not a range!" }) });
    await assert.rejects(loadRegistry({ appRoot: root }), /extension 'ext' \(package 'ext'\): supportedVersion "not a range!" is not a valid semver range/);
  });

  it("refuses an installation without core", async () => {
    const t = tree();
    const root = app(t, { ext: extensionSpec("ext") });
    await assert.rejects(loadRegistry({ appRoot: root }), /no DiracX core found/);
  });

  it("refuses a malformed diracx field, naming the package and key", async () => {
    const t = tree();
    const root = app(t, { "diracx-tasks": coreSpec(), ext: { name: "ext", diracx: { entrypoints: {} } } });
    await assert.rejects(loadRegistry({ appRoot: root }), /package 'ext' \(.*package\.json\): diracx\.: Unrecognized key: "entrypoints"/);
  });

  it("follows dependencies transitively, including optional and installed peer dependencies", async () => {
    const t = tree();
    const root = t.pkg("app", { name: "app", dependencies: { middle: "*" }, peerDependencies: { "not-installed": "*" } });
    t.pkg("app/node_modules/middle", { name: "middle", optionalDependencies: { "diracx-tasks": "*", absent: "*" } });
    t.pkg("app/node_modules/diracx-tasks", coreSpec());
    const registry = await loadRegistry({ appRoot: root });
    assert.deepEqual(registry.extensions, ["diracx"]);
    assert.equal(registry.find("diracx.resources", "find_compatible_platforms")?.package, "diracx-tasks");
  });

  it("resolves nested node_modules before hoisted ones, as Node does", async () => {
    const t = tree();
    const root = app(t, { "diracx-tasks": coreSpec({ version: "0.3.0" }), ext: extensionSpec("ext", { supportedVersion: "^0.4.0" }) });
    // ext's own copy of core shadows the hoisted one, so two cores are installed.
    t.pkg("app/node_modules/ext/node_modules/diracx-tasks", coreSpec({ version: "0.4.0" }));
    await assert.rejects(loadRegistry({ appRoot: root }), /two DiracX cores are installed: package 'diracx-tasks' at \S+ and package 'diracx-tasks' at \S+ext\/node_modules\/diracx-tasks; only one may be \(every package resolves it from its own real directory: link them all to one copy\)$/);
  });

  it("follows symlinks to realpaths and survives dependency cycles", async () => {
    const t = tree();
    // Like this repository: the package links itself into its own node_modules.
    const root = t.pkg("repo", { ...coreSpec(), dependencies: { "diracx-tasks": "*", ext: "*" } });
    t.link("repo/node_modules/diracx-tasks", "..");
    // A workspace package linked into node_modules, depending back on the repository.
    t.pkg("repo/extensions/ext", extensionSpec("ext", { dependencies: { "diracx-tasks": "*", ext: "*" } }));
    t.link("repo/node_modules/ext", "../extensions/ext");
    const registry = await loadRegistry({ appRoot: root });
    assert.deepEqual(registry.extensions, ["ext", "diracx"]);
    assert.equal(registry.entries("diracx").filter((e) => e.name === "extension").length, 2);
    assert.equal(registry.find("diracx", "extension")?.packageRoot, t.path("repo/extensions/ext"));
    assert.equal(registry.find("diracx.resources", "find_compatible_platforms")?.packageRoot, root);
  });
});

describe("application root", () => {
  it("is the nearest package.json above the working directory", async () => {
    const t = tree();
    const root = app(t, { "diracx-tasks": coreSpec() });
    const registry = await loadRegistry({ cwd: path.join(root, "node_modules/diracx-tasks/../../"), env: {} });
    assert.equal(registry.appRoot, root);
    t.pkg("app/src/deep", { name: "inner" });
    assert.equal(findAppRoot({ cwd: t.path("app/src/deep"), env: {} }), t.path("app/src/deep"));
    assert.equal(findAppRoot({ cwd: t.path("app/node_modules/diracx-tasks"), env: {} }), t.path("app/node_modules/diracx-tasks"));
  });

  it("is DIRACX_APP_ROOT when set, whatever the working directory", async () => {
    const t = tree();
    const root = app(t, { "diracx-tasks": coreSpec(), ext: extensionSpec("ext") });
    const elsewhere = t.pkg("elsewhere", { name: "elsewhere" });
    const registry = await loadRegistry({ cwd: elsewhere, env: { DIRACX_APP_ROOT: root } });
    assert.equal(registry.appRoot, root);
    assert.deepEqual(registry.extensions, ["ext", "diracx"]);
    assert.throws(() => findAppRoot({ env: { DIRACX_APP_ROOT: t.path("missing") } }), /DIRACX_APP_ROOT=.*missing: no package.json in/);
  });
});

describe("entry values", () => {
  const cases: Array<[string, RegExp]> = [
    ["./a.js:b:c", /single ':'/],
    [":Export", /module part must be a non-empty/],
    ["./mod.js:not-an-identifier", /export 'not-an-identifier' is not a JavaScript identifier/],
    ["/abs/mod.js:X", /module '\/abs\/mod.js' is absolute/],
  ];
  for (const [value, expected] of cases) {
    it(`refuses ${JSON.stringify(value)} at discovery, naming package, group and entry`, async () => {
      const t = tree();
      const root = app(t, { "diracx-tasks": coreSpec(), ext: extensionSpec("ext", { entryPoints: { "diracx.resources": { broken: value } } }) });
      await assert.rejects(loadRegistry({ appRoot: root }), (err: Error) => {
        assert.ok(err instanceof EntryPointError);
        assert.ok(err.message.startsWith(`package 'ext' group 'diracx.resources' entry 'broken' (${JSON.stringify(value)}): malformed value`), err.message);
        assert.match(err.message, expected);
        return true;
      });
    });
  }

  it("refuses group names outside the diracx namespace", async () => {
    const t = tree();
    const root = app(t, { "diracx-tasks": coreSpec(), ext: extensionSpec("ext", { entryPoints: { "other.group": { x: "./x.js" } } }) });
    await assert.rejects(loadRegistry({ appRoot: root }), /package 'ext' group 'other.group' entry 'x' .*group names must be 'diracx' or start with 'diracx.'/);
  });

  async function failingLoad(value: string, files: Record<string, string>): Promise<EntryPointError> {
    const t = tree();
    const root = app(t, { "diracx-tasks": coreSpec(), ext: extensionSpec("ext", { entryPoints: { "diracx.resources": { thing: value } }, files }) });
    const registry = await loadRegistry({ appRoot: root });
    const err = await registry.resource("thing").then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof EntryPointError, String(err));
    assert.ok(err.message.startsWith(`package 'ext' group 'diracx.resources' entry 'thing' (${JSON.stringify(value)}): `), err.message);
    assert.deepEqual(err.entry, { group: "diracx.resources", name: "thing", package: "ext", packageRoot: t.path("app/node_modules/ext"), value, active: true });
    return err;
  }

  it("reports a missing module", async () => {
    const err = await failingLoad("./nowhere.js:thing", {});
    assert.match(err.message, /module not found: .*\/ext\/nowhere\.js$/);
  });

  it("reports a module that fails to import with its first line", async () => {
    const err = await failingLoad("./bad.js:thing", { "bad.js": 'throw new TypeError("boom\\nsecond line");\n' });
    assert.match(err.message, /importing .*bad\.js failed: TypeError: boom$/);
  });

  it("reports a missing export, listing the module's exports", async () => {
    const err = await failingLoad("./mod.js:thing", { "mod.js": "export const other = 1;\nexport function another() {}\n" });
    assert.match(err.message, /module .*mod\.js has no export 'thing' \(exports: another, other\)$/);
  });

  it("reports an export of the wrong kind", async () => {
    const err = await failingLoad("./mod.js:thing", { "mod.js": 'export const thing = "not a function";\n' });
    assert.match(err.message, /export 'thing' is a string, expected a function$/);
    const cls = await failingLoad("./mod.js:thing", { "mod.js": "export class thing {}\n" });
    assert.match(cls.message, /export 'thing' is class thing, expected a function$/);
  });

  it("reports an unresolvable package specifier", async () => {
    const err = await failingLoad("no-such-package/x.js:thing", {});
    assert.match(err.message, /module 'no-such-package\/x.js' cannot be resolved from .*\/ext$/);
  });

  it("resolves package specifiers from the declaring package and imports side-effect modules whole", async () => {
    const t = tree();
    const root = app(t, {
      "diracx-tasks": coreSpec(),
      ext: extensionSpec("ext", {
        dependencies: { "diracx-tasks": "*", helper: "*" },
        entryPoints: { "diracx.resources": { from_helper: "helper/fn.js:fromHelper" }, "diracx.custom": { whole: "./whole.js" } },
        files: { "whole.js": "export const marker = 42;\n" },
      }),
    });
    // Only ext can see `helper`: it is nested under ext, not hoisted to the app.
    t.pkg("app/node_modules/ext/node_modules/helper", { name: "helper", files: { "fn.js": 'export const fromHelper = () => "helped";\n' } });
    const registry = await loadRegistry({ appRoot: root });
    const fromHelper = await registry.resource<() => string>("from_helper");
    assert.equal(fromHelper(), "helped");
    const ns = await registry.loadActive<{ marker: number }>("diracx.custom", "whole");
    assert.equal(ns.marker, 42);
    await assert.rejects(registry.loadActive("diracx.custom", "absent"), /no entry 'absent' in group 'diracx.custom' \(installed: whole\)/);
  });

  it("does not import anything while building the registry", async () => {
    const t = tree();
    const root = app(t, {
      "diracx-tasks": coreSpec(),
      ext: extensionSpec("ext", { entryPoints: { "diracx.resources": { x: "./throws.js:x" } }, files: { "throws.js": 'throw new Error("imported");\n' } }),
    });
    const registry = await loadRegistry({ appRoot: root });
    assert.deepEqual(registry.groups(), ["diracx", "diracx.resources"]);
    await assert.rejects(registry.resource("x"), /importing .*throws\.js failed: Error: imported/);
  });
});
