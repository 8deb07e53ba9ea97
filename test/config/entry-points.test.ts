import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { ConfigSchema } from "../../src/config/schema.ts";
import { ConfigSource } from "../../src/config/source.ts";
import { loadRegistry } from "../../src/registry/index.ts";
import { findCompatiblePlatforms, type FindCompatiblePlatforms } from "../../src/resources/platforms.ts";

const root = path.resolve(import.meta.dirname, "../..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-config-ep-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("core's config-stream entry points, through the registry", () => {
  it("validates with core's ConfigSchema and resolves core's findCompatiblePlatforms when no extension is installed", async () => {
    fs.writeFileSync(path.join(dir, "default.yml"), "Registry: { lhcb: {} }\nResources: { Computing: { OSCompatibility: { el9: [el8] } } }\n");
    const registry = await loadRegistry({ appRoot: root });
    assert.deepEqual(registry.extensions, ["diracx"]);
    const source = await ConfigSource.fromEnv(registry, { DIRACX_CONFIG_BACKEND_URL: dir }, { watch: false });
    assert.equal(source.schema, ConfigSchema);
    const find = await registry.resource<FindCompatiblePlatforms>("find_compatible_platforms");
    assert.equal(find, findCompatiblePlatforms);
    assert.deepEqual(find(["el8"], source.current()), ["el9"]);
  });
});
