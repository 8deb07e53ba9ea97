// The oldest DiracX client the API accepts (header `DiracX-Client-Version`). Versions are
// PEP 440 (`0.0.1a1`), as DiracX's Python packages are, so npm's semver cannot compare them.
import { lt, valid } from "@renovatebot/pep440";
import { MIN_CLIENT_VERSION_GROUP } from "../registry/groups.ts";
import type { Registry } from "../registry/index.ts";
import { HttpError, HttpSetupError } from "./errors.ts";

/** Core's minimum, as upstream's DIRACX_MIN_CLIENT_VERSION. */
export const MIN_CLIENT_VERSION = "0.0.1a1";

export const CLIENT_VERSION_HEADER = "diracx-client-version";

/** The extension's entry (any name but `diracx`) if there is one, else core's. */
export async function minClientVersion(registry: Registry): Promise<string> {
  const entries = registry.active(MIN_CLIENT_VERSION_GROUP);
  const ep = entries.find((e) => e.name !== "diracx") ?? entries.find((e) => e.name === "diracx");
  if (!ep) return MIN_CLIENT_VERSION;
  const v = await registry.load<unknown>(ep);
  if (typeof v !== "string" || valid(v) === null) {
    throw new HttpSetupError(`${ep.package}: ${MIN_CLIENT_VERSION_GROUP} entry '${ep.name}' (${ep.value}) is not a PEP 440 version string: ${JSON.stringify(v)}`);
  }
  return v;
}

/** Throws the 400 DiracX answers for an unparsable or too old client version; absent passes. */
export function checkClientVersion(header: string | undefined, minimum: string): void {
  if (header === undefined) return;
  if (valid(header) === null) throw new HttpError(400, `Invalid version string: '${header}'`);
  if (lt(header, minimum)) throw new HttpError(400, `Client version ${header} is not compatible with the server. Upgrade to a version >= ${minimum}.`);
}
