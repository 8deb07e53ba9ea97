// Misspelt entry-point groups and a missing supportedVersion, as an extension author meets them.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { after, describe, it } from "node:test";
import { coreSpec, extensionSpec, PackageTree, REPO_ROOT } from "./package-tree.ts";

const BIN = path.join(REPO_ROOT, "bin/diracx-tasks.mjs");
const trees: PackageTree[] = [];
after(() => trees.forEach((t) => t.remove()));

function installation(installed: Record<string, Parameters<PackageTree["pkg"]>[1]>): string {
  const t = PackageTree.create();
  trees.push(t);
  const root = t.pkg("app", { name: "app", dependencies: Object.fromEntries(Object.keys(installed).map((n) => [n, "*"])) });
  for (const [dir, spec] of Object.entries(installed)) t.pkg(`app/node_modules/${dir}`, spec);
  return root;
}

function cli(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(cwd, "entrypoints", ...args);
}

function run(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DIRACX_LOG_FORMAT: "json" };
  delete env.DIRACX_APP_ROOT;
  delete env.NODE_TEST_CONTEXT;
  delete env.DIRACX_LOG_LEVEL;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
  });
}

describe("entry-point groups and supportedVersion", () => {
  it("refuses a misspelt group with a did-you-mean, listing every one; --check exits non-zero", async () => {
    const root = installation({
      "diracx-tasks": coreSpec(),
      acme: extensionSpec("acme", {
        supportedVersion: "^0.3.0",
        entryPoints: { "diracx.task.acme": { Clean: "./t.js:Clean" }, "diracx.resource": { find_compatible_platforms: "./p.js:f" } },
      }),
    });
    const r = await cli(root, "--check");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^diracx-tasks: 2 misspelt entry-point groups: /);
    assert.match(r.stderr, /package 'acme' declares entry-point group 'diracx\.task\.acme', which nothing reads; did you mean 'diracx\.tasks\.acme'\?/);
    assert.match(r.stderr, /package 'acme' declares entry-point group 'diracx\.resource', which nothing reads; did you mean 'diracx\.resources'\?/);
    assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
  });

  it("a lock type registered twice is one line, printed once, exit 1", async () => {
    const mod = 'import { registerLockObjectType } from "diracx-tasks"; registerLockObjectType("dup");\n';
    const t = PackageTree.create();
    trees.push(t);
    const root = t.pkg("app", { name: "app", dependencies: { "diracx-tasks": "*", acme: "*" } });
    t.link("app/node_modules/diracx-tasks", REPO_ROOT); // the real core, so `import "diracx-tasks"` resolves
    t.pkg("app/node_modules/acme", extensionSpec("acme", { entryPoints: { "diracx.lock_object_types": { a: "./a.js", b: "./b.js" } }, files: { "a.js": mod, "b.js": mod } }));
    const r = await run(root, "entrypoints", "--check");
    const lines = r.stderr.split("\n").filter((l) => /registered twice/.test(l));
    assert.equal(r.code, 1);
    assert.equal(lines.length, 1, r.stderr);
  });

  it("accepts a custom group that is no typo; warns once about a missing supportedVersion", async () => {
    const root = installation({ "diracx-tasks": coreSpec(), acme: extensionSpec("acme", { entryPoints: { "diracx.acme_plugins": { one: "./one.js:one" } } }) });
    const r = await cli(root, "--json");
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.trim().split("\n").map((l) => JSON.parse(l) as { msg: string; level: number });
    assert.deepEqual(warnings.map((w) => [w.level, w.msg]), [[40, `extension 'acme' (package 'acme') declares no diracx.supportedVersion (a semver range of diracx-tasks versions it works with, e.g. "^0.3.0")`]]);
  });
});
