import { editDistance } from "../did-you-mean.ts";
import type { EntryPoint } from "./entry-point.ts";
import { RegistryError } from "./errors.ts";
import { isTaskGroup, knownGroupNames, TASK_GROUP_PREFIX } from "./groups.ts";

/*
 * A group one or two letters away from a group the registry describes (src/registry/groups.ts)
 * or from `diracx.tasks.<category>` is a typo (`diracx.task.acme`, `diracx.resource`): accepted,
 * it did nothing and core's implementation stayed in use. It is refused. Other unknown groups
 * are custom groups, read by the package that defines them.
 */

/** Edits that make a name a typo of another rather than a different name. */
const TYPO_DISTANCE = 2;

/** One line per misspelt group: the packages declaring it and the group(s) meant. */
export function unknownGroupProblems(groups: ReadonlyMap<string, readonly EntryPoint[]>): string[] {
  const known = knownGroupNames();
  const problems: string[] = [];
  for (const [group, entries] of groups) {
    if (known.includes(group) || isTaskGroup(group)) continue;
    const last = group.slice(group.lastIndexOf(".") + 1);
    const candidates = [...known, ...[...groups.keys()].filter(isTaskGroup), `${TASK_GROUP_PREFIX}${last}`];
    const close = [...new Set(candidates)].filter((c) => c !== group && editDistance(group, c) <= TYPO_DISTANCE);
    if (close.length === 0) continue;
    const packages = [...new Set(entries.map((e) => e.package))].map((p) => `'${p}'`).join(", ");
    problems.push(
      `package ${packages} declares entry-point group '${group}', which nothing reads; did you mean ${close.map((c) => `'${c}'`).join(", ")}?`,
    );
  }
  return problems;
}

/** Refuses a registry with misspelt groups, listing every one. */
export function assertKnownGroups(groups: ReadonlyMap<string, readonly EntryPoint[]>): void {
  const problems = unknownGroupProblems(groups);
  if (problems.length === 1) throw new RegistryError(problems[0]!);
  if (problems.length > 1) throw new RegistryError(`${problems.length} misspelt entry-point groups: ${problems.join("; ")}`);
}
