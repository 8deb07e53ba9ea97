import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { ConfigSource, loadRegistry } from "diracx-tasks/ops";
import {
  findCompatiblePlatforms as coreFind,
  PlatformCompatibilityError,
  type DiracxConfig,
  type FindCompatiblePlatforms,
} from "diracx-tasks";
import { GubbinsConfigSchema, type GubbinsConfig } from "../src/config.ts";
import { ANY_PLATFORM, findCompatiblePlatforms } from "../src/platforms.ts";

const root = path.resolve(import.meta.dirname, "..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gubbins-config-"));
const sources: ConfigSource<GubbinsConfig>[] = [];
after(() => {
  for (const s of sources) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const yaml = `
Registry:
  gubbins:
    Users:
      b824d4dc-0001: { PreferedUsername: adminusername, GubbinsSpecificInfo: "in the gubbins" }
      b824d4dc-0002: { PreferedUsername: plain }
Resources:
  Computing:
    OSCompatibility:
      x86_64-el7: [el7]
      x86_64-el9: [el9, el8]
      x86_64-el8: [el8]
`;

describe("gubbins config schema", () => {
  it("adds GubbinsSpecificInfo to users and keeps core's defaults", async () => {
    const file = path.join(dir, "default.yml");
    fs.writeFileSync(file, yaml);
    const s = await ConfigSource.fromPath(dir, GubbinsConfigSchema, { watch: false });
    sources.push(s);
    const users = s.current().Registry.gubbins!.Users;
    assert.equal(users["b824d4dc-0001"]!.GubbinsSpecificInfo, "in the gubbins");
    assert.equal(users["b824d4dc-0002"]!.GubbinsSpecificInfo, undefined);
    assert.deepEqual(users["b824d4dc-0001"]!.DNs, []);
    // Operations.Defaults is always there, with core's defaults: operationsFor finds a section for every VO.
    assert.equal(s.current().Operations.Defaults?.Services.JobScheduling.MaxRescheduling, 3);
  });

  it("validates the extension's field with its path", async () => {
    const file = path.join(dir, "bad.yml");
    fs.writeFileSync(file, yaml.replace('"in the gubbins"', "[1, 2]"));
    await assert.rejects(ConfigSource.fromPath(file, GubbinsConfigSchema, { watch: false }), {
      name: "ConfigError",
      message: `invalid configuration ${file}: Registry.gubbins.Users.b824d4dc-0001.GubbinsSpecificInfo: expected string, received array`,
    });
  });

});

describe("gubbins findCompatiblePlatforms", () => {
  const config = GubbinsConfigSchema.parse({ Registry: {}, Resources: { Computing: { OSCompatibility: { "x86_64-el7": ["el7"], "x86_64-el9": ["el9", "el8"], "x86_64-el8": ["el8"] } } } }) as DiracxConfig;

  it("maps the generic platform ANY to every configured platform, newest first (core refuses it)", () => {
    assert.deepEqual(findCompatiblePlatforms([ANY_PLATFORM], config), ["x86_64-el9", "x86_64-el8", "x86_64-el7"]);
    assert.deepEqual(findCompatiblePlatforms(["el7", "any"], config), ["x86_64-el9", "x86_64-el8", "x86_64-el7"]);
    assert.throws(() => coreFind([ANY_PLATFORM], config), PlatformCompatibilityError);
  });

  it("answers like core for everything else", () => {
    assert.deepEqual(findCompatiblePlatforms(["el8"], config), coreFind(["el8"], config));
    assert.deepEqual(findCompatiblePlatforms(["el8"], config), ["x86_64-el9", "x86_64-el8"]);
    assert.throws(() => findCompatiblePlatforms(["windows"], config), /no compatible DIRAC platform found for 'windows'/);
  });

  it("still refuses ANY when no platform is configured", () => {
    const empty = GubbinsConfigSchema.parse({ Registry: {} }) as DiracxConfig;
    assert.throws(() => findCompatiblePlatforms([ANY_PLATFORM], empty), /OSCompatibility is empty/);
  });

});

describe("through the registry, with gubbins installed", () => {
  it("validates the configuration with gubbins' schema and calls gubbins' findCompatiblePlatforms", async () => {
    fs.writeFileSync(path.join(dir, "default.yml"), yaml);
    const registry = await loadRegistry({ appRoot: root });
    const s = await ConfigSource.fromEnv<GubbinsConfig>(registry, { DIRACX_CONFIG_BACKEND_URL: dir }, { watch: false });
    sources.push(s);
    assert.equal(s.schema, GubbinsConfigSchema);
    assert.equal(s.current().Registry.gubbins!.Users["b824d4dc-0001"]!.GubbinsSpecificInfo, "in the gubbins");

    const find = await registry.resource<FindCompatiblePlatforms>("find_compatible_platforms");
    assert.equal(find, findCompatiblePlatforms);
    assert.deepEqual(find(["ANY"], s.current()), ["x86_64-el9", "x86_64-el8", "x86_64-el7"]);
  });
});
