import assert from "node:assert/strict";
import { describe, it } from "node:test";
import YAML from "yaml";
import { ConfigError, formatKeyPath } from "../../src/config/errors.ts";
import { ConfigSchema, listVOs, operationsFor } from "../../src/config/schema.ts";
import { parseConfig } from "../../src/config/source.ts";

const yaml = `
DIRAC: { Setup: Production }
Registry:
  lhcb:
    DefaultGroup: lhcb_user
    IdP: { URL: "https://idp.cern.ch", ClientID: lhcb-client }
    Users:
      b824d4dc-1f9d-4ee8-8df5-c0ae55d46041: { PreferedUsername: chaen, Email: chaen@cern.ch }
    Groups:
      lhcb_user: { Properties: [NormalUser], Users: [b824d4dc-1f9d-4ee8-8df5-c0ae55d46041] }
      lhcb_prod: { Properties: [NormalUser, ProductionManagement], JobShare: 5000, AllowBackgroundTQs: true }
  gridpp:
    Groups: {}
Operations:
  Defaults:
    Services: { JobScheduling: { MaxRescheduling: 5 } }
  lhcb:
    JobDescription: { MaxInputData: 500 }
  gridpp:
    Services: { JobScheduling: { EnableSharesCorrection: true } }
Resources:
  Computing:
    OSCompatibility:
      x86_64-el9: [el9, el8]
`;

describe("ConfigSchema", () => {
  const config = parseConfig(yaml, ConfigSchema, "default.yml");

  it("fills DiracX defaults for groups", () => {
    const groups = config.Registry.lhcb!.Groups;
    assert.equal(groups.lhcb_user!.JobShare, 1000);
    assert.equal(groups.lhcb_user!.AllowBackgroundTQs, false);
    assert.equal(groups.lhcb_prod!.JobShare, 5000);
    assert.deepEqual(groups.lhcb_prod!.Properties, ["NormalUser", "ProductionManagement"]);
    assert.deepEqual(config.Registry.gridpp!.Users, {});
  });

  it("lists the VOs in document order", () => {
    assert.deepEqual(listVOs(config), ["lhcb", "gridpp"]);
  });

  it("resolves Operations for a VO over Defaults without code defaults hiding Defaults", () => {
    assert.equal(operationsFor(config, "lhcb").Services.JobScheduling.MaxRescheduling, 5);
    assert.equal(operationsFor(config, "lhcb").JobDescription.MaxInputData, 500);
    assert.equal(operationsFor(config, "gridpp").Services.JobScheduling.MaxRescheduling, 5);
    assert.equal(operationsFor(config, "gridpp").Services.JobScheduling.EnableSharesCorrection, true);
    assert.equal(operationsFor(config, "unknown-vo").Services.JobScheduling.MaxRescheduling, 5);
    const bare = ConfigSchema.parse({ Registry: {} });
    assert.equal(operationsFor(bare, "lhcb").Services.JobScheduling.MaxRescheduling, 3);
  });

  it("passes unknown sections through (the document is shared with every DiracX service)", () => {
    assert.deepEqual((config as Record<string, unknown>).DIRAC, { Setup: "Production" });
  });

  it("returns a deeply frozen configuration", () => {
    assert.ok(Object.isFrozen(config.Registry.lhcb!.Groups.lhcb_user));
    assert.throws(() => {
      (config.Registry.lhcb!.Groups.lhcb_user as { JobShare: number }).JobShare = 1;
    }, TypeError);
  });

  it("names the file and the key path of a bad value", () => {
    const bad = YAML.parse(yaml);
    bad.Registry.lhcb.Groups.lhcb_user.JobShare = "lots";
    assert.throws(
      () => parseConfig(YAML.stringify(bad), ConfigSchema, "/etc/diracx/default.yml"),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message ===
          "invalid configuration /etc/diracx/default.yml: Registry.lhcb.Groups.lhcb_user.JobShare: expected number, received string",
    );
  });

  it("counts further problems in the one-line message and keeps them all", () => {
    assert.throws(
      () => parseConfig("Registry:\n  lhcb:\n    Groups:\n      u: { JobShare: x, AllowBackgroundTQs: 3 }\n", ConfigSchema, "f.yml"),
      (err: unknown) =>
        err instanceof ConfigError &&
        /: Registry\.lhcb\.Groups\.u\.JobShare: expected number, received string \(and 1 more problem\)$/.test(err.message) &&
        err.problems[1] === "Registry.lhcb.Groups.u.AllowBackgroundTQs: expected boolean, received number",
    );
  });

  it("requires a Registry and a mapping document", () => {
    assert.throws(() => parseConfig("Operations: {}\n", ConfigSchema, "f.yml"), /f\.yml: Registry: missing \(expected record\)/);
    assert.throws(() => parseConfig("- a\n- b\n", ConfigSchema, "f.yml"), /f\.yml: the document must be a mapping/);
  });

  it("reports YAML syntax errors and duplicate keys with their line", () => {
    assert.throws(() => parseConfig("Registry:\n  lhcb: {\n", ConfigSchema, "f.yml"), /^ConfigError: invalid configuration f\.yml: YAML syntax error at line \d+, column \d+/);
    assert.throws(() => parseConfig("Registry: {}\nRegistry: {}\n", ConfigSchema, "f.yml"), /YAML syntax error at line 2, column 1: Map keys must be unique/);
  });

  it("formats odd key paths unambiguously", () => {
    assert.equal(formatKeyPath(["Tasks", "common", "wms:Cleanup", "limits"]), "Tasks.common.wms:Cleanup.limits");
    assert.equal(formatKeyPath(["Resources", "Sites", "LCG.CERN.ch", "CEs", 0]), 'Resources.Sites["LCG.CERN.ch"].CEs[0]');
    assert.equal(formatKeyPath([]), "(top level)");
  });
});
