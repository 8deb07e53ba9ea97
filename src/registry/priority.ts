import { logger } from "../logging.ts";
import semver from "semver";
import { RegistryError } from "./errors.ts";
import { CORE_EXTENSION_NAME, CORE_GROUP, EXTENSION_ENTRY } from "./groups.ts";
import type { PackageManifest } from "./manifest.ts";

export interface Ranking {
  /** The packages carrying a `diracx` field, in priority order. */
  readonly packages: readonly PackageManifest[];
  readonly core: PackageManifest;
  /** e.g. ["gubbins", "diracx"], or ["diracx"]. */
  readonly extensions: readonly string[];
}

/** The extension name a package declares (`diracx` for core), if any. */
function declared(m: PackageManifest): string | undefined {
  return m.diracx?.entryPoints[CORE_GROUP]?.[EXTENSION_ENTRY];
}

function where(m: PackageManifest): string {
  return `package '${m.name}' at ${m.root}`;
}

/**
 * Orders the DiracX packages: the extension first, then packages that carry a `diracx` field
 * without declaring an extension (helper packages of a multi-package extension, sorted by
 * name so the order never depends on install layout), and core last. The first entry per
 * name wins, so this order is what lets an extension override core.
 */
export function rankPackages(manifests: readonly PackageManifest[]): Ranking {
  const withField = manifests.filter((m) => m.diracx !== undefined);
  const cores = withField.filter((m) => declared(m) === CORE_EXTENSION_NAME);
  if (cores.length === 0) {
    throw new RegistryError(
      `no DiracX core found: no package reachable from the application root declares "${CORE_GROUP}": { "${EXTENSION_ENTRY}": "${CORE_EXTENSION_NAME}" } (is diracx-tasks a dependency?)`,
    );
  }
  if (cores.length > 1) {
    throw new RegistryError(`two DiracX cores are installed: ${cores.map(where).join(" and ")}; only one may be (every package resolves it from its own real directory: link them all to one copy)`);
  }
  const core = cores[0]!;
  const extensionPackages = withField.filter((m) => declared(m) !== undefined && m !== core);
  if (extensionPackages.length > 1) {
    const names = extensionPackages.map((m) => `'${declared(m)}' (${where(m)})`);
    throw new RegistryError(`at most one extension besides diracx is supported, found ${names.join(" and ")}`);
  }
  const ext = extensionPackages[0];
  const helpers = withField
    .filter((m) => m !== core && m !== ext)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.root.localeCompare(b.root)));
  const ordered = [...(ext ? [ext] : []), ...helpers, core];
  for (const m of ordered) checkSupportedVersion(m, core);
  return {
    packages: ordered,
    core,
    extensions: [...(ext ? [declared(ext)!] : []), CORE_EXTENSION_NAME],
  };
}

/** A process loads its registry more than once (CLI, engine); the warning is given once. */
const warnedNoSupportedVersion = new Set<string>();

function checkSupportedVersion(m: PackageManifest, core: PackageManifest): void {
  const range = m.diracx?.supportedVersion;
  const ext = declared(m);
  const label = ext === undefined ? `package '${m.name}'` : `extension '${ext}' (package '${m.name}')`;
  if (range === undefined) {
    // Without it a core upgrade that breaks the package is found only when something fails.
    if (m !== core && ext !== undefined && !warnedNoSupportedVersion.has(m.name)) {
      warnedNoSupportedVersion.add(m.name);
      logger.warn({ package: m.name }, `${label} declares no diracx.supportedVersion (a semver range of diracx-tasks versions it works with, e.g. "^${core.version}")`);
    }
    return;
  }
  if (semver.validRange(range) === null) {
    throw new RegistryError(`${label}: supportedVersion ${JSON.stringify(range)} is not a valid semver range`);
  }
  if (!semver.satisfies(core.version, range, { includePrerelease: true })) {
    throw new RegistryError(`${label} supports diracx-tasks ${range} but the installed core '${core.name}' is version ${core.version}`);
  }
}
