import { classKind, type AnyClass } from "./entry-kind.ts";
import type { EntryPoint } from "./entry-point.ts";
import { EntryPointError } from "./errors.ts";
import { taskCategory } from "./groups.ts";
import type { Registry } from "./registry.ts";

/** An active task entry and its id `<category>:<Name>`. */
export interface TaskEntry {
  readonly id: string;
  readonly category: string;
  readonly entry: EntryPoint;
}

/** The active entries of every `diracx.tasks.<category>` group, without importing them. */
export function taskEntries(registry: Registry): TaskEntry[] {
  return registry.taskGroups().flatMap((group) =>
    registry.active(group).map((entry) => {
      const category = taskCategory(group);
      return { id: `${category}:${entry.name}`, category, entry };
    }),
  );
}

/**
 * Imports a task entry's class and checks that the entry name equals the class name: the task
 * id is built from the entry name, and keeping both equal means an id always names the class
 * that runs (upstream keyed by class name while documenting the entry name, and drifted).
 */
export async function loadTaskClass<C extends AnyClass = AnyClass>(registry: Registry, entry: EntryPoint): Promise<C> {
  const cls = await registry.load<AnyClass>(entry, classKind);
  if (cls.name !== entry.name) {
    throw new EntryPointError(entry, `exports class '${cls.name}' but the entry is named '${entry.name}'; a task's entry name must equal its class name`);
  }
  return cls as C;
}
