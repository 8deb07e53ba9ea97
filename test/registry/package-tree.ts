// Builds real package trees on disk for registry tests: package.json files, node_modules
// directories, symlinks and plain-JavaScript modules, in a temporary directory.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");

export interface PackageSpec {
  name: string;
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  diracx?: unknown;
  /** Relative path → file contents (modules are plain ESM JavaScript). */
  files?: Record<string, string>;
}

export class PackageTree {
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  static create(): PackageTree {
    return new PackageTree(fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "diracx-registry-"))));
  }

  /** Writes a package at `dir` (relative to the tree root) and returns its absolute path. */
  pkg(dir: string, spec: PackageSpec): string {
    const abs = path.join(this.root, dir);
    fs.mkdirSync(abs, { recursive: true });
    const { files = {}, ...manifest } = spec;
    fs.writeFileSync(path.join(abs, "package.json"), JSON.stringify({ type: "module", version: "0.0.1", ...manifest }, null, 2));
    for (const [file, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(abs, file)), { recursive: true });
      fs.writeFileSync(path.join(abs, file), text);
    }
    return abs;
  }

  /** Creates the symlink `linkPath` (relative to the root) pointing at `target` (as written). */
  link(linkPath: string, target: string): void {
    const abs = path.join(this.root, linkPath);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.symlinkSync(target, abs, "dir");
  }

  path(...parts: string[]): string {
    return path.join(this.root, ...parts);
  }

  remove(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** A stand-in core package: declares `extension: diracx` and a find_compatible_platforms. */
export function coreSpec(overrides: { version?: string; entryPoints?: Record<string, Record<string, string>> } = {}): PackageSpec {
  return {
    name: "diracx-tasks",
    version: overrides.version ?? "0.3.0",
    diracx: {
      entryPoints: {
        diracx: { extension: "diracx" },
        "diracx.resources": { find_compatible_platforms: "./platforms.js:findCompatiblePlatforms" },
        ...overrides.entryPoints,
      },
    },
    files: { "platforms.js": 'export function findCompatiblePlatforms(platforms) { return ["core", ...platforms]; }\n' },
  };
}

/** An extension package named `name` declaring `extension: name`, plus any extra groups. */
export function extensionSpec(
  name: string,
  opts: { packageName?: string; supportedVersion?: string; entryPoints?: Record<string, Record<string, string>>; files?: Record<string, string>; dependencies?: Record<string, string> } = {},
): PackageSpec {
  return {
    name: opts.packageName ?? name,
    dependencies: opts.dependencies ?? { "diracx-tasks": "*" },
    diracx: {
      ...(opts.supportedVersion ? { supportedVersion: opts.supportedVersion } : {}),
      entryPoints: { diracx: { extension: name }, ...opts.entryPoints },
    },
    files: opts.files ?? {},
  };
}
