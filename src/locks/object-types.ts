import { DiracxError } from "../errors.ts";
import { describeEntry, type EntryLocation } from "../registry/errors.ts";
import { LOCK_OBJECT_TYPES_GROUP } from "../registry/groups.ts";
import type { EntryPoint, Registry } from "../registry/registry.ts";

/** A lock object type is unknown or registered twice. */
export class LockObjectTypeError extends DiracxError {}

const BUILT_IN = "diracx-tasks (built-in)";

/** name → where it was registered, in registration order. */
const registered = new Map<string, string>([
  ["task", BUILT_IN],
  ["job", BUILT_IN],
  ["transformation", BUILT_IN],
]);

/**
 * The entry whose module is being imported by loadLockObjectTypes. Entries are imported one
 * at a time, so a registration made while this is set comes from that module; this is how a
 * duplicate names both entry points without inspecting stack traces.
 */
let importing: EntryLocation | undefined;

/** Entries already imported (package root + entry name), so loading twice is harmless. */
const loaded = new Set<string>();

/**
 * Registers a lock object type and returns its name, so a module can declare
 * `export const LOLLYGAG = registerLockObjectType("lollygag")`. Names are global.
 */
export function registerLockObjectType(name: string): string {
  if (!/^[a-z][a-z0-9_-]*$/.test(name)) {
    throw new LockObjectTypeError(`invalid lock object type '${name}': use lower-case letters, digits, '_' and '-'`);
  }
  const source = importing ? describeEntry(importing) : "code outside the lock_object_types entry points";
  const first = registered.get(name);
  if (first !== undefined) {
    throw new LockObjectTypeError(`lock object type '${name}' is registered twice: first by ${first}, then by ${source}`);
  }
  registered.set(name, source);
  return name;
}

/** Throws unless `name` is a registered lock object type; returns it for chaining. */
export function assertLockObjectType(name: string): string {
  if (!registered.has(name)) {
    throw new LockObjectTypeError(`unknown lock object type '${name}' (known: ${lockObjectTypes().join(", ")})`);
  }
  return name;
}

/** Every registered lock object type, built-ins first. */
export function lockObjectTypes(): string[] {
  return [...registered.keys()];
}

/** Imports one `diracx.lock_object_types` entry (once per process), attributing its registrations to it. */
export async function loadLockObjectTypeEntry(registry: Registry, entry: EntryPoint): Promise<void> {
  const key = `${entry.packageRoot}\0${entry.name}`;
  if (loaded.has(key)) return;
  importing = entry;
  try {
    await registry.load(entry);
  } finally {
    importing = undefined;
  }
  loaded.add(key);
}

/** Imports every active `diracx.lock_object_types` entry once, so their types are known. */
export async function loadLockObjectTypes(registry: Registry): Promise<void> {
  for (const entry of registry.active(LOCK_OBJECT_TYPES_GROUP)) await loadLockObjectTypeEntry(registry, entry);
}
