import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { parse } from "yaml";
import { demoConfig, writeDemoConfig, type DemoConfig } from "../../src/dev/demo-config.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-demo-config-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("demo configuration", () => {
  test("is written as YAML that reads back to the same document", async () => {
    const file = await writeDemoConfig(path.join(tmp, "a"));
    assert.equal(file, path.join(tmp, "a", "config", "default.yml"));
    const text = fs.readFileSync(file, "utf8");
    assert.match(text, /^# Demo DiracX configuration/);
    assert.deepEqual(parse(text), demoConfig());
  });

  test("has two VOs whose default groups exist and whose group members are known users", () => {
    const cfg: DemoConfig = demoConfig();
    assert.deepEqual(Object.keys(cfg.Registry), ["lhcb", "gridpp"]);
    for (const [vo, reg] of Object.entries(cfg.Registry)) {
      assert.ok(reg.Groups[reg.DefaultGroup], `${vo}: default group ${reg.DefaultGroup} exists`);
      for (const [group, g] of Object.entries(reg.Groups)) {
        assert.ok(group.startsWith(`${vo}_`), `${vo}.${group} is named after its VO`);
        for (const sub of g.Users) assert.ok(reg.Users[sub], `${vo}.${group}: user ${sub} is registered`);
      }
    }
  });

  test("every platform is compatible with itself and lists only strings", () => {
    const os = demoConfig().Resources.Computing.OSCompatibility;
    assert.ok(Object.keys(os).length >= 3);
    for (const [platform, compatible] of Object.entries(os)) {
      assert.ok(compatible.includes(platform), platform);
      assert.ok(compatible.every((p) => typeof p === "string" && p.length > 0));
    }
  });

  test("an existing file (the user's edits) is kept unless overwrite is asked for", async () => {
    const dir = path.join(tmp, "b");
    const file = await writeDemoConfig(dir);
    fs.writeFileSync(file, "Registry: {}\n");
    assert.equal(await writeDemoConfig(dir), file);
    assert.equal(fs.readFileSync(file, "utf8"), "Registry: {}\n");
    await writeDemoConfig(dir, { overwrite: true });
    assert.deepEqual(parse(fs.readFileSync(file, "utf8")), demoConfig());
  });
});
