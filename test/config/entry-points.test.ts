import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { ConfigSchema } from "../../src/config/schema.ts";
import { findCompatiblePlatforms } from "../../src/resources/platforms.ts";

// Until the registry resolves these itself in tests, check that core's declarations name the
// real exports (a typo here would only surface when the registry loads them).
const root = path.resolve(import.meta.dirname, "../..");
const entryPoints = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).diracx.entryPoints;

async function load(value: string): Promise<unknown> {
  const [mod, name] = value.split(":") as [string, string];
  return (await import(path.join(root, mod)))[name];
}

describe("core entry points of the config stream", () => {
  it("declares ConfigSchema as diracx → config", async () => {
    assert.equal(await load(entryPoints.diracx.config), ConfigSchema);
  });

  it("declares findCompatiblePlatforms as diracx.resources → find_compatible_platforms", async () => {
    assert.equal(await load(entryPoints["diracx.resources"].find_compatible_platforms), findCompatiblePlatforms);
  });
});
