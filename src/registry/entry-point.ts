import { EntryPointError } from "./errors.ts";
import { CORE_GROUP, isDeclaration, TASK_GROUP_PREFIX } from "./groups.ts";
import { parseEntryValue } from "./entry-value.ts";
import type { PackageManifest } from "./manifest.ts";

/** One declared entry point. `active`: it is the first for its name in its group, so it wins. */
export interface EntryPoint {
  readonly group: string;
  readonly name: string;
  readonly package: string;
  readonly packageRoot: string;
  readonly value: string;
  readonly active: boolean;
}

function checkGroupName(group: string): string | undefined {
  if (group !== CORE_GROUP && !group.startsWith(`${CORE_GROUP}.`)) return `group names must be '${CORE_GROUP}' or start with '${CORE_GROUP}.'`;
  if (group === TASK_GROUP_PREFIX.slice(0, -1) || group === TASK_GROUP_PREFIX) return `task groups need a category: '${TASK_GROUP_PREFIX}<category>'`;
  if (group.split(".").some((part) => part === "")) return "empty segment in group name";
  return undefined;
}

/**
 * Flattens the ranked packages' declarations into entry points, group by group in priority
 * order, validating every value's syntax now so a malformed one fails at start-up, before
 * anything is imported.
 */
export function collectEntryPoints(packages: readonly PackageManifest[]): Map<string, EntryPoint[]> {
  const byGroup = new Map<string, EntryPoint[]>();
  for (const manifest of packages) {
    for (const [group, entries] of Object.entries(manifest.diracx?.entryPoints ?? {})) {
      const list = byGroup.get(group) ?? [];
      byGroup.set(group, list);
      for (const [name, value] of Object.entries(entries)) {
        const location = { package: manifest.name, group, name, value };
        const groupProblem = checkGroupName(group);
        if (groupProblem) throw new EntryPointError(location, groupProblem);
        if (name.trim() === "") throw new EntryPointError(location, "empty entry name");
        if (!isDeclaration(group, name)) {
          const parsed = parseEntryValue(value);
          if (typeof parsed === "string") throw new EntryPointError(location, parsed);
        }
        const active = !list.some((ep) => ep.name === name);
        list.push({ ...location, packageRoot: manifest.root, active });
      }
    }
  }
  return byGroup;
}
