// Minimal version written by the locks stream so locks can validate object types before the
// registry stream lands; the registry stream owns this file (and adds `loadLockObjectTypes`).
import { DiracxError } from "../errors.ts";

/** A lock names an object type nobody registered, or a registration is invalid. */
export class LockObjectTypeError extends DiracxError {}

const BUILT_IN = ["task", "job", "transformation"] as const;
const known = new Set<string>(BUILT_IN);

/** Registers a lock object type (extensions do this from a `diracx.lock_object_types` module). */
export function registerLockObjectType(name: string): string {
  // Colons separate the parts of a lock's Redis key, so a type name must not contain one.
  if (!/^[a-z][a-z0-9_]*$/.test(name)) {
    throw new LockObjectTypeError(`invalid lock object type '${name}': use lower-case letters, digits and '_'`);
  }
  if (known.has(name)) throw new LockObjectTypeError(`lock object type '${name}' is already registered`);
  known.add(name);
  return name;
}

/** Throws unless the type is registered. */
export function assertLockObjectType(name: string): void {
  if (!known.has(name)) {
    throw new LockObjectTypeError(`unknown lock object type '${name}' (known: ${[...known].sort().join(", ")})`);
  }
}

/** Every registered type, built-ins first. */
export function lockObjectTypes(): string[] {
  return [...known];
}
