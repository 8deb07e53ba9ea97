import { findCompatiblePlatforms as coreFindCompatiblePlatforms, sortPlatformsNewestFirst, type FindCompatiblePlatforms } from "diracx-tasks";

/** The platform name a gubbins job uses to say "any platform will do". */
export const ANY_PLATFORM = "ANY";

/**
 * Gubbins' `find_compatible_platforms` (its `diracx.resources` entry overrides core's).
 *
 * The difference from core: a job asking for the generic platform `ANY` (any case) is
 * compatible with every platform listed in `Resources.Computing.OSCompatibility`, newest first.
 * Core would refuse `ANY` as an unknown OS. Any other request is answered by core's algorithm
 * (requested platforms other than `ANY` are then irrelevant: everything already matches).
 */
export const findCompatiblePlatforms: FindCompatiblePlatforms = (jobPlatforms, config) => {
  if (jobPlatforms.some((p) => p.toUpperCase() === ANY_PLATFORM)) {
    const all = Object.keys(config.Resources.Computing.OSCompatibility);
    // An empty mapping is still an error, reported by core in its own words.
    if (all.length === 0) return coreFindCompatiblePlatforms(jobPlatforms, config);
    return sortPlatformsNewestFirst(all);
  }
  return coreFindCompatiblePlatforms(jobPlatforms, config);
};
