import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import { documentedEntries, renderEntryPointsMarkdown } from "../../src/registry/index.ts";
import { coreSpec, extensionSpec, PackageTree, REPO_ROOT } from "./package-tree.ts";

const BIN = path.join(REPO_ROOT, "bin/diracx-tasks.mjs");
const trees: PackageTree[] = [];
after(() => trees.forEach((t) => t.remove()));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(cwd: string, ...args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, DIRACX_LOG_LEVEL: "error" };
  delete env.DIRACX_APP_ROOT;
  delete env.NODE_TEST_CONTEXT;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, "entrypoints", ...args], { cwd, env }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

interface Row {
  group: string;
  name: string;
  package: string;
  value: string;
  active: boolean;
}

const platforms = (rows: Row[]) =>
  rows.filter((r) => r.group === "diracx.resources" && r.name === "find_compatible_platforms").map((r) => [r.package, r.active]);

function installation(installed: Record<string, Parameters<PackageTree["pkg"]>[1]>): string {
  const t = PackageTree.create();
  trees.push(t);
  const root = t.pkg("app", { name: "app", dependencies: Object.fromEntries(Object.keys(installed).map((n) => [n, "*"])) });
  for (const [dir, spec] of Object.entries(installed)) t.pkg(`app/node_modules/${dir}`, spec);
  return root;
}

describe("diracx-tasks entrypoints", () => {
  it("--json from the repository root: core's find_compatible_platforms is active", async () => {
    const run = await cli(REPO_ROOT, "--json");
    assert.equal(run.code, 0, run.stderr);
    const rows = JSON.parse(run.stdout) as Row[];
    assert.deepEqual(Object.keys(rows[0]!).sort(), ["active", "group", "name", "package", "value"]);
    assert.deepEqual(platforms(rows), [["diracx-tasks", true]]);
  });

  it("--json from extensions/gubbins: gubbins' find_compatible_platforms wins over core's", async () => {
    const run = await cli(path.join(REPO_ROOT, "extensions/gubbins"), "--json");
    assert.equal(run.code, 0, run.stderr);
    const rows = JSON.parse(run.stdout) as Row[];
    assert.deepEqual(platforms(rows), [["gubbins", true], ["diracx-tasks", false]]);
    assert.deepEqual(rows.filter((r) => r.group === "diracx.lock_object_types").map((r) => r.name), ["lollygag", "my_pilot"]);
  });

  it("prints a table by default, marking overridden entries", async () => {
    const run = await cli(path.join(REPO_ROOT, "extensions/gubbins"));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /extensions \(priority order\): gubbins, diracx/);
    assert.match(run.stdout, /diracx\.resources\s+find_compatible_platforms\s+gubbins\s+\S+\s+yes/);
    assert.match(run.stdout, /diracx\.resources\s+find_compatible_platforms\s+diracx-tasks\s+\S+\s+no \(overridden\)/);
  });

  it("exits non-zero with one line naming both extensions", async () => {
    const root = installation({ "diracx-tasks": coreSpec(), one: extensionSpec("one"), two: extensionSpec("two") });
    const run = await cli(root, "--json");
    assert.notEqual(run.code, 0);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /^diracx-tasks: at most one extension besides diracx is supported, found 'one' \(.*\) and 'two' \(.*\)\n$/);
  });

  it("exits non-zero with one line naming the range and the core version", async () => {
    const root = installation({ "diracx-tasks": coreSpec({ version: "1.0.0" }), ext: extensionSpec("ext", { supportedVersion: "^0.1.0" }) });
    const run = await cli(root);
    assert.notEqual(run.code, 0);
    assert.equal(run.stderr, "diracx-tasks: extension 'ext' (package 'ext') supports diracx-tasks ^0.1.0 but the installed core 'diracx-tasks' is version 1.0.0\n");
  });

  it("--check imports every active entry and reports every failure", async () => {
    const root = installation({
      "diracx-tasks": coreSpec({ entryPoints: { "diracx.tasks.jobs": { CoreTask: "./tasks.js:CoreTask" } } }),
      ext: extensionSpec("ext", {
        entryPoints: {
          "diracx.resources": { find_compatible_platforms: "./platforms.js:findCompatiblePlatforms", broken: "./missing.js:x" },
          "diracx.tasks.jobs": { CoreTask: "./tasks.js:Renamed" },
          "diracx.lock_object_types": { ext: "./lock-types.js" },
        },
        files: { "platforms.js": "export const findCompatiblePlatforms = 3;\n", "tasks.js": "export class Renamed {}\n", "lock-types.js": "export {};\n" },
      }),
    });
    const run = await cli(root, "--check");
    assert.notEqual(run.code, 0);
    const stderr = run.stderr.trimEnd().split("\n");
    assert.equal(stderr.length, 4, run.stderr);
    assert.ok(stderr.some((l) => /entry 'broken' .*module not found: .*missing\.js$/.test(l)), run.stderr);
    assert.ok(stderr.some((l) => /entry 'find_compatible_platforms' .*export 'findCompatiblePlatforms' is a number, expected a function$/.test(l)), run.stderr);
    assert.ok(stderr.some((l) => /entry 'CoreTask' .*exports class 'Renamed' but the entry is named 'CoreTask'/.test(l)), run.stderr);
    assert.equal(stderr.at(-1), "diracx-tasks: 3 of 4 entry points failed to load");
    assert.match(run.stdout, /^ok {4}diracx\.lock_object_types ext \(ext\)$/m);
  });

  it("--check succeeds when every active entry loads", async () => {
    const root = installation({ "diracx-tasks": coreSpec() });
    const run = await cli(root, "--check");
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /all 1 active entry points load/);
  });

  it("--markdown --output writes the reference document", async () => {
    const root = installation({ "diracx-tasks": coreSpec(), ext: extensionSpec("ext", { entryPoints: { "diracx.custom_thing": { a: "./a.js:a" } } }) });
    const run = await cli(root, "--markdown", "--output", "docs/out.md");
    assert.equal(run.code, 0, run.stderr);
    const doc = fs.readFileSync(path.join(root, "docs/out.md"), "utf8");
    assert.match(doc, /^# Entry points reference\n/);
    assert.match(doc, /- \[diracx\.custom_thing\]\(#diracxcustom_thing\)/);
    assert.match(doc, /## diracx\.custom_thing\n\nCustom entry point group\n/);
    assert.match(doc, /\| ext \| a \| `\.\/a\.js:a` \|/);
    assert.match(doc, /\| diracx-tasks \| find_compatible_platforms \| `\.\/platforms\.js:findCompatiblePlatforms` \|/);
  });
});

describe("docs/entrypoints.md", () => {
  it("is up to date (regenerate with `npm run docs:entrypoints`)", () => {
    const expected = renderEntryPointsMarkdown(documentedEntries(REPO_ROOT));
    const actual = fs.readFileSync(path.join(REPO_ROOT, "docs/entrypoints.md"), "utf8");
    assert.equal(actual, expected, "docs/entrypoints.md is stale: run `npm run docs:entrypoints`");
  });
});
