import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigSchema, type DiracxConfig } from "../../src/config/schema.ts";
import {
  findCompatiblePlatforms,
  PlatformCompatibilityError,
  platformSortKey,
  sortPlatformsNewestFirst,
} from "../../src/resources/platforms.ts";

function configWith(osCompatibility: Record<string, string[] | string>): DiracxConfig {
  return ConfigSchema.parse({ Registry: {}, Resources: { Computing: { OSCompatibility: osCompatibility } } });
}

const example = configWith({
  slc7: ["slc7", "centos7"],
  centos7: ["centos7"],
  ubuntu20: ["ubuntu20", "ubuntu18"],
  rhel8: ["rhel8", "centos8"],
  debian10: ["ubuntu20"],
});

describe("findCompatiblePlatforms", () => {
  it("gives the platforms of every requested OS, newest first (DIRAC's worked example)", () => {
    assert.deepEqual(findCompatiblePlatforms(["slc7", "ubuntu20"], example), ["ubuntu20", "slc7", "debian10"]);
  });

  it("treats every platform as compatible with itself", () => {
    // debian10 lists only ubuntu20, yet a job asking for debian10 can run on it.
    assert.deepEqual(findCompatiblePlatforms(["debian10"], example), ["debian10"]);
  });

  it("unions several platforms sharing an OS", () => {
    assert.deepEqual(findCompatiblePlatforms(["centos7"], example), ["slc7", "centos7"]);
  });

  it("accepts the legacy comma-separated CS form", () => {
    const legacy = configWith({ "x86_64-el9": "el9, el8", "x86_64-el8": "el8" });
    assert.deepEqual(findCompatiblePlatforms(["el8"], legacy), ["x86_64-el9", "x86_64-el8"]);
  });

  it("refuses an empty mapping, naming the config key", () => {
    assert.throws(
      () => findCompatiblePlatforms(["slc7"], configWith({})),
      (err: unknown) =>
        err instanceof PlatformCompatibilityError &&
        err.message === "Resources.Computing.OSCompatibility is empty: cannot map job platforms 'slc7' to DIRAC platforms",
    );
  });

  it("refuses a request nothing can run, and an empty request", () => {
    assert.throws(() => findCompatiblePlatforms(["windows95"], example), {
      name: "PlatformCompatibilityError",
      message:
        "no compatible DIRAC platform found for 'windows95' in Resources.Computing.OSCompatibility (platforms: slc7, centos7, ubuntu20, rhel8, debian10)",
    });
    assert.throws(() => findCompatiblePlatforms([], example), /no compatible DIRAC platform found for \(none requested\)/);
  });
});

describe("platform sort key", () => {
  it("compares numbers numerically and drops trailing zero parts before text", () => {
    assert.deepEqual(platformSortKey("EL9.0-x86"), ["el", "00000009", "-", "x", "00000086"]);
    assert.deepEqual(sortPlatformsNewestFirst(["el10", "el9", "el8.10", "el8.9"]), ["el10", "el9", "el8.10", "el8.9"]);
    assert.deepEqual(sortPlatformsNewestFirst(["slc6", "ubuntu18", "centos7"]), ["ubuntu18", "slc6", "centos7"]);
  });
});
