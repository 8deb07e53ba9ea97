import fs from "node:fs";
import { DiracxError } from "../errors.ts";
import { discoverPackages, unreachableCore } from "./discovery.ts";
import { findAppRoot, type AppRootOptions } from "./app-root.ts";
import { parseEntryValue, resolveEntryModule, type ResolvedModule } from "./entry-value.ts";
import { functionKind, kindOf, type EntryKind } from "./entry-kind.ts";
import { collectEntryPoints, type EntryPoint } from "./entry-point.ts";
import { EntryPointError, RegistryError } from "./errors.ts";
import { isDeclaration, isTaskGroup, RESOURCES_GROUP } from "./groups.ts";
import { assertKnownGroups } from "./group-check.ts";
import { rankPackages } from "./priority.ts";

function firstLine(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.split("\n")[0]!;
}

function fileExists(file: string): boolean {
  // tsx lets a `.js` specifier name its `.ts` source, as TypeScript projects write imports.
  return fs.existsSync(file) || (/\.[cm]?js$/.test(file) && fs.existsSync(file.replace(/js$/, "ts")));
}

/**
 * The entry points of one installation, in priority order. Building it reads package.json
 * files only; modules are imported lazily by `load`.
 */
export class Registry {
  readonly appRoot: string;
  readonly coreVersion: string;
  readonly extensions: readonly string[];
  /** The active extension (`extensions[0]`; core's own name without one) and its package version. */
  readonly activeExtension: { readonly name: string; readonly package: string; readonly version: string };
  readonly #groups: ReadonlyMap<string, readonly EntryPoint[]>;

  constructor(
    appRoot: string,
    coreVersion: string,
    extensions: readonly string[],
    groups: ReadonlyMap<string, readonly EntryPoint[]>,
    activeExtension?: { name: string; package: string; version: string },
  ) {
    this.appRoot = appRoot;
    this.coreVersion = coreVersion;
    this.extensions = extensions;
    this.activeExtension = activeExtension ?? { name: extensions[0] ?? "diracx", package: "diracx-tasks", version: coreVersion };
    this.#groups = groups;
  }

  groups(): string[] {
    return [...this.#groups.keys()].sort();
  }

  entries(group: string): EntryPoint[] {
    return [...(this.#groups.get(group) ?? [])];
  }

  active(group: string): EntryPoint[] {
    return this.entries(group).filter((ep) => ep.active);
  }

  find(group: string, name: string): EntryPoint | undefined {
    return this.#groups.get(group)?.find((ep) => ep.active && ep.name === name);
  }

  candidates(group: string, name: string): EntryPoint[] {
    return this.entries(group).filter((ep) => ep.name === name);
  }

  taskGroups(): string[] {
    return this.groups().filter(isTaskGroup);
  }

  /**
   * Imports the entry's module and returns its named export (or the module namespace for a
   * `"<module>"` value). With `kind`, the export is checked too. Every failure is an
   * EntryPointError naming package, group and entry.
   */
  async load<T = unknown>(ep: EntryPoint, kind?: EntryKind<unknown>): Promise<T> {
    if (isDeclaration(ep.group, ep.name)) throw new EntryPointError(ep, "is a declaration, not a module to import");
    const value = parseEntryValue(ep.value);
    if (typeof value === "string") throw new EntryPointError(ep, value);
    let resolved: ResolvedModule;
    try {
      resolved = resolveEntryModule(value, ep.packageRoot);
    } catch (err) {
      throw new EntryPointError(ep, `module '${value.module}' cannot be resolved from ${ep.packageRoot}`, { cause: err });
    }
    let namespace: Record<string, unknown>;
    try {
      namespace = (await import(resolved.url)) as Record<string, unknown>;
    } catch (err) {
      // A DiracxError raised while the module initialises (e.g. a duplicate lock type) already
      // says what and where; wrapping it would only repeat the location.
      if (err instanceof DiracxError) throw err;
      if (value.relative && !fileExists(resolved.file)) throw new EntryPointError(ep, `module not found: ${resolved.file}`, { cause: err });
      throw new EntryPointError(ep, `importing ${resolved.file} failed: ${firstLine(err)}`, { cause: err });
    }
    if (value.exportName === undefined) {
      if (kind && !kind.accepts(namespace)) throw new EntryPointError(ep, `expected ${kind.description}, not a whole module; name an export ("<module>:<export>")`);
      return namespace as T;
    }
    if (!(value.exportName in namespace)) {
      const available = Object.keys(namespace).sort();
      throw new EntryPointError(ep, `module ${resolved.file} has no export '${value.exportName}' (exports: ${available.join(", ") || "none"})`);
    }
    const exported = namespace[value.exportName];
    if (kind && !kind.accepts(exported)) {
      throw new EntryPointError(ep, `export '${value.exportName}' is ${kindOf(exported)}, expected ${kind.description}`);
    }
    return exported as T;
  }

  async loadActive<T = unknown>(group: string, name: string, kind?: EntryKind<unknown>): Promise<T> {
    const ep = this.find(group, name);
    if (!ep) throw new RegistryError(`no entry '${name}' in group '${group}' (installed: ${this.active(group).map((e) => e.name).join(", ") || "none"})`);
    return this.load<T>(ep, kind);
  }

  /** An overridable function from `diracx.resources`: the extension's if it declares one, else core's. */
  async resource<F>(name: string): Promise<F> {
    return this.loadActive<F>(RESOURCES_GROUP, name, functionKind);
  }
}

/** Discovers the installation at the application root (see findAppRoot) and builds its registry. */
export async function loadRegistry(opts: AppRootOptions = {}): Promise<Registry> {
  const appRoot = findAppRoot(opts);
  const ranking = rankPackages(discoverPackages(appRoot));
  const lost = unreachableCore(ranking.packages, ranking.core);
  if (lost) throw new RegistryError(lost);
  const groups = collectEntryPoints(ranking.packages);
  assertKnownGroups(groups);
  const extPackage = ranking.extensions.length > 1 ? ranking.packages[0]! : ranking.core;
  return new Registry(appRoot, ranking.core.version, ranking.extensions, groups, { name: ranking.extensions[0]!, package: extPackage.name, version: extPackage.version });
}

let cached: Promise<Registry> | undefined;

/** The process-wide registry (DIRACX_APP_ROOT, else the cwd's package), built once. */
export function getRegistry(): Promise<Registry> {
  if (!cached) {
    cached = loadRegistry();
    // A failed build is not cached, so a caller that fixes the cause can try again.
    cached.catch(() => {
      cached = undefined;
    });
  }
  return cached;
}

/** Forgets the process-wide registry (tests that change DIRACX_APP_ROOT). */
export function resetRegistryCache(): void {
  cached = undefined;
}

export type { EntryPoint };
