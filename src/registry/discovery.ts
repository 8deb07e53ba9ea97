import fs from "node:fs";
import path from "node:path";
import { logger } from "../logging.ts";
import { readManifest, type PackageManifest } from "./manifest.ts";

/**
 * Finds the directory of package `name` as Node's resolver would from `fromDir`: the first
 * `node_modules/<name>` with a package.json in `fromDir` or any ancestor (skipping
 * `node_modules/node_modules`). Returns its realpath, so symlinked and hoisted copies of the
 * same package collapse into one.
 */
export function resolvePackageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== "node_modules") {
      const candidate = path.join(dir, "node_modules", name);
      if (fs.existsSync(path.join(candidate, "package.json"))) return fs.realpathSync(candidate);
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Every package reachable from the application root through `dependencies`,
 * `optionalDependencies` and `peerDependencies`, the root first. Packages are identified by
 * realpath, which also ends cycles such as `node_modules/diracx-tasks -> ..`.
 */
export function discoverPackages(appRoot: string): PackageManifest[] {
  const root = fs.realpathSync(appRoot);
  const seen = new Map<string, PackageManifest>();
  const queue: string[] = [root];
  while (queue.length > 0) {
    const dir = queue.shift()!;
    if (seen.has(dir)) continue;
    const manifest = readManifest(dir);
    seen.set(dir, manifest);
    const wanted: Array<[string, boolean]> = [
      ...manifest.dependencies.map((d): [string, boolean] => [d, true]),
      ...manifest.optionalDependencies.map((d): [string, boolean] => [d, false]),
      ...manifest.peerDependencies.map((d): [string, boolean] => [d, false]),
    ];
    for (const [dep, required] of wanted) {
      const depDir = resolvePackageDir(dep, dir);
      if (depDir === undefined) {
        // A missing required dependency is the package manager's problem and would fail at
        // import anyway; say so, but do not stop discovery for packages unrelated to DiracX.
        if (required) logger.warn({ package: manifest.name, dependency: dep }, `dependency '${dep}' of package '${manifest.name}' is not installed`);
        continue;
      }
      if (!seen.has(depDir)) queue.push(depDir);
    }
  }
  return [...seen.values()];
}

/**
 * The npm workspace packages of a package (`"workspaces": ["extensions/*", "tools/cli"]`).
 * Only literal directories and a trailing `/*` are supported, which is what npm projects use
 * in practice; used to document a monorepo's extensions alongside its core.
 */
export function workspacePackageDirs(manifest: PackageManifest): string[] {
  const dirs: string[] = [];
  for (const pattern of manifest.workspaces) {
    if (pattern.endsWith("/*")) {
      const parent = path.join(manifest.root, pattern.slice(0, -2));
      if (!fs.existsSync(parent)) continue;
      for (const entry of fs.readdirSync(parent, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const dir = path.join(parent, entry.name);
        if (entry.isDirectory() && fs.existsSync(path.join(dir, "package.json"))) dirs.push(fs.realpathSync(dir));
      }
    } else {
      const dir = path.join(manifest.root, pattern);
      if (fs.existsSync(path.join(dir, "package.json"))) dirs.push(fs.realpathSync(dir));
    }
  }
  return dirs;
}

/**
 * Every DiracX package that depends on core (`dependencies`, `peerDependencies` or
 * `optionalDependencies`) must reach it from its own directory: its `import … from
 * "diracx-tasks"` resolves from there, not from the application. A linked extension (its
 * realpath outside the application) without core beside it would otherwise be skipped by
 * discovery and fail later, entry by entry, at import. One line naming the package, its
 * directory and the fix.
 */
export function unreachableCore(packages: readonly PackageManifest[], core: PackageManifest): string | undefined {
  for (const m of packages) {
    if (m === core) continue;
    const wants = [...m.dependencies, ...m.peerDependencies, ...m.optionalDependencies].includes(core.name);
    if (!wants || resolvePackageDir(core.name, m.root) !== undefined) continue;
    return `package '${m.name}' at ${m.root} cannot resolve ${core.name} from its own directory (a linked package resolves its imports from where it really is): link ${path.join(m.root, "node_modules", core.name)} to ${core.root}, or make it a workspace of the application`;
  }
  return undefined;
}
