import type { DiracxConfig } from "../config/schema.ts";
import { DiracxError } from "../errors.ts";

/** No DIRAC platform can run the job's requested platforms (or the mapping is missing). */
export class PlatformCompatibilityError extends DiracxError {}

/**
 * The overridable function registered as `diracx.resources` → `find_compatible_platforms`.
 * Callers go through `registry.resource<FindCompatiblePlatforms>("find_compatible_platforms")`
 * so an extension's implementation replaces this one everywhere.
 */
export type FindCompatiblePlatforms = (jobPlatforms: string[], config: DiracxConfig) => string[];

const OS_COMPATIBILITY = "Resources.Computing.OSCompatibility";

/**
 * Every DIRAC platform able to run a job that asks for `jobPlatforms` (OS names), newest first.
 *
 * `Resources.Computing.OSCompatibility` maps a platform to the OSes it can run; a platform can
 * always run itself. The mapping is inverted (OS → platforms) and the platforms of every
 * requested OS are united. Throws `PlatformCompatibilityError` when the mapping is empty or
 * nothing matches (an empty request matches nothing).
 *
 * Upstream returned a bare list where its only caller expected an `S_OK` structure; here the
 * result is the list and failure is an exception, with nothing in between.
 */
export const findCompatiblePlatforms: FindCompatiblePlatforms = (jobPlatforms, config) => {
  const mapping = config.Resources.Computing.OSCompatibility;
  if (Object.keys(mapping).length === 0) {
    throw new PlatformCompatibilityError(
      `${OS_COMPATIBILITY} is empty: cannot map job platforms ${describe(jobPlatforms)} to DIRAC platforms`,
    );
  }
  const platformsByOS = new Map<string, Set<string>>();
  for (const [platform, oses] of Object.entries(mapping)) {
    for (const os of [platform, ...oses]) {
      let set = platformsByOS.get(os);
      if (!set) platformsByOS.set(os, (set = new Set()));
      set.add(platform);
    }
  }
  const found = new Set<string>();
  for (const os of jobPlatforms) for (const p of platformsByOS.get(os) ?? []) found.add(p);
  if (found.size === 0) {
    throw new PlatformCompatibilityError(
      `no compatible DIRAC platform found for ${describe(jobPlatforms)} in ${OS_COMPATIBILITY} (platforms: ${Object.keys(mapping).join(", ")})`,
    );
  }
  return sortPlatformsNewestFirst(found);
};

function describe(platforms: string[]): string {
  return platforms.length ? platforms.map((p) => `'${p}'`).join(", ") : "(none requested)";
}

/**
 * DIRAC's platform ordering key: the lower-cased name cut into number and letter runs, numbers
 * zero-padded to 8 digits so they compare numerically, and trailing zero parts dropped before
 * any non-numeric part. Separators other than `.` stay as parts.
 */
export function platformSortKey(platform: string): string[] {
  const key: string[] = [];
  for (const part of platform.toLowerCase().split(/(\d+|[a-z]+|\.| -)/)) {
    if (part === "" || part === ".") continue;
    if (/^\d+$/.test(part)) key.push(part.padStart(8, "0"));
    else {
      while (key.at(-1) === "00000000") key.pop();
      key.push(part);
    }
  }
  return key;
}

/** Compare sort keys as lists of strings, element by element (a prefix sorts first). */
function compareKeys(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Newest (highest sort key) first. */
export function sortPlatformsNewestFirst(platforms: Iterable<string>): string[] {
  return [...platforms].sort((a, b) => compareKeys(platformSortKey(b), platformSortKey(a)));
}
