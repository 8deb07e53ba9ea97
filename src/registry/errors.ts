import { DiracxError } from "../errors.ts";

/** The registry cannot be built: discovery, manifest, priority or version problems. */
export class RegistryError extends DiracxError {}

/** Where an entry point is declared, for messages and for lock-type provenance. */
export interface EntryLocation {
  readonly package: string;
  readonly group: string;
  readonly name: string;
  readonly value: string;
}

/** Formats an entry's location the same way in every message. */
export function describeEntry(ep: EntryLocation): string {
  return `package '${ep.package}' group '${ep.group}' entry '${ep.name}' (${JSON.stringify(ep.value)})`;
}

/** One entry point is malformed or cannot be loaded; the message names package, group and entry. */
export class EntryPointError extends RegistryError {
  readonly entry: EntryLocation;

  constructor(entry: EntryLocation, problem: string, options?: { cause?: unknown }) {
    super(`${describeEntry(entry)}: ${problem}`, options);
    this.entry = entry;
  }
}
