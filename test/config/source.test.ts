import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, describe, it } from "node:test";
import { z } from "zod";
import { ConfigSchema, type DiracxConfig } from "../../src/config/schema.ts";
import { Config, ConfigError, ConfigSource, configToken, isConfigToken, resolveConfigLocation } from "../../src/config/source.ts";
import { SettingsError } from "../../src/settings.ts";

const dirs: string[] = [];
const sources: ConfigSource<DiracxConfig>[] = [];
after(() => {
  for (const s of sources) s.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-config-"));
  dirs.push(d);
  return d;
}

function doc(jobShare: number | string, extra = ""): string {
  return `Registry:\n  lhcb:\n    Groups:\n      lhcb_user: { JobShare: ${JSON.stringify(jobShare)} }\n${extra}`;
}

/** Replace the file the way editors and ConfigMaps do: write elsewhere, rename over. */
function replaceAtomically(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.hrtime.bigint()}`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function nextChange<C extends DiracxConfig>(source: ConfigSource<C>): Promise<{ config: C; previous: C }> {
  return new Promise((resolve) => {
    const off = source.onChange((config, previous) => {
      off();
      resolve({ config, previous });
    });
  });
}

function nextError(source: ConfigSource<DiracxConfig>): Promise<ConfigError> {
  return new Promise((resolve) => {
    const off = source.onError((err) => {
      off();
      resolve(err);
    });
  });
}

async function open(location: string, opts = {}): Promise<ConfigSource<DiracxConfig>> {
  const s = await ConfigSource.fromPath(location, ConfigSchema, opts);
  sources.push(s);
  return s;
}

const jobShare = (c: DiracxConfig): number | undefined => c.Registry.lhcb?.Groups.lhcb_user?.JobShare;

describe("config location", () => {
  it("accepts a file, a file:// URL and a directory with default.yml or default.yaml", () => {
    const d = tmpDir();
    fs.writeFileSync(path.join(d, "default.yaml"), doc(1));
    assert.equal(resolveConfigLocation(d), path.join(d, "default.yaml"));
    fs.writeFileSync(path.join(d, "default.yml"), doc(1));
    assert.equal(resolveConfigLocation(d), path.join(d, "default.yml"), "default.yml wins over default.yaml");
    assert.equal(resolveConfigLocation(pathToFileURL(d).href), path.join(d, "default.yml"));
    assert.equal(resolveConfigLocation(path.join(d, "default.yaml")), path.join(d, "default.yaml"));
  });

  it("refuses missing paths, empty directories and other URL schemes with one line", () => {
    const d = tmpDir();
    assert.throws(() => resolveConfigLocation(path.join(d, "nope.yml")), {
      name: "ConfigError",
      message: `invalid configuration: configuration location '${path.join(d, "nope.yml")}': no such file or directory`,
    });
    assert.throws(() => resolveConfigLocation(d), new RegExp(`'${d}' is a directory without default\\.yml or default\\.yaml`));
    assert.throws(() => resolveConfigLocation("git+https://github.com/x/cs.git"), /unsupported scheme 'git\+https'/);
  });
});

describe("ConfigSource", () => {
  it("loads and validates at start", async () => {
    const d = tmpDir();
    fs.writeFileSync(path.join(d, "default.yml"), doc(250));
    const s = await open(d, { watch: false });
    assert.equal(s.file, path.join(d, "default.yml"));
    assert.equal(jobShare(s.current()), 250);
  });

  it("refuses a bad configuration at start with the file and key path", async () => {
    const d = tmpDir();
    const file = path.join(d, "default.yml");
    fs.writeFileSync(file, doc("lots"));
    await assert.rejects(open(d), {
      name: "ConfigError",
      message: `invalid configuration ${file}: Registry.lhcb.Groups.lhcb_user.JobShare: expected number, received string`,
    });
  });

  it("hot-reloads a file replaced by rename and reports the previous configuration", async () => {
    const d = tmpDir();
    const file = path.join(d, "default.yml");
    fs.writeFileSync(file, doc(1));
    const s = await open(d, { debounceMs: 10 });
    const changed = nextChange(s);
    replaceAtomically(file, doc(2));
    const { config, previous } = await changed;
    assert.equal(jobShare(config), 2);
    assert.equal(jobShare(previous), 1);
    assert.equal(jobShare(s.current()), 2);
  });

  it("hot-reloads a file rewritten in place", async () => {
    const d = tmpDir();
    const file = path.join(d, "default.yml");
    fs.writeFileSync(file, doc(1));
    const s = await open(file, { debounceMs: 10 });
    const changed = nextChange(s);
    fs.writeFileSync(file, doc(3));
    assert.equal(jobShare((await changed).config), 3);
  });

  it("rejects a bad change, keeps the previous configuration, then accepts a good one", async () => {
    const d = tmpDir();
    const file = path.join(d, "default.yml");
    fs.writeFileSync(file, doc(1));
    const s = await open(d, { debounceMs: 10 });
    let changes = 0;
    s.onChange(() => changes++);

    const rejected = nextError(s);
    replaceAtomically(file, doc(1, "Tasks:\n  vo_overrides: {}\n"));
    const err = await rejected;
    assert.equal(err.message, `invalid configuration ${file}: Tasks.vo_overrides: unknown key`);
    assert.equal(jobShare(s.current()), 1);
    assert.equal(changes, 0);

    const changed = nextChange(s);
    replaceAtomically(file, doc(7));
    assert.equal(jobShare((await changed).config), 7);
    assert.equal(changes, 1);
  });

  it("rejects broken YAML on reload", async () => {
    const d = tmpDir();
    const file = path.join(d, "default.yml");
    fs.writeFileSync(file, doc(1));
    const s = await open(d, { watch: false });
    const rejected = nextError(s);
    fs.writeFileSync(file, "Registry:\n  lhcb: {\n");
    assert.equal(await s.reload(), false);
    assert.match((await rejected).message, /YAML syntax error at line/);
    assert.equal(jobShare(s.current()), 1);
  });

  it("picks up changes by polling when file-system events are off", async () => {
    const d = tmpDir();
    const file = path.join(d, "default.yml");
    fs.writeFileSync(file, doc(1));
    const s = await open(d, { fsEvents: false, pollIntervalMs: 10, debounceMs: 1 });
    const changed = nextChange(s);
    replaceAtomically(file, doc(12345));
    assert.equal(jobShare((await changed).config), 12345);
  });

  it("reloads on demand: true for a new configuration, false for the same content", async () => {
    const d = tmpDir();
    const file = path.join(d, "default.yml");
    fs.writeFileSync(file, doc(1));
    const s = await open(d, { watch: false });
    assert.equal(await s.reload(), false);
    fs.writeFileSync(file, doc(2));
    const [a, b] = await Promise.all([s.reload(), s.reload()]);
    assert.deepEqual([a, b], [true, false], "concurrent reloads are serialised");
    assert.equal(jobShare(s.current()), 2);
  });

  it("keeps notifying other listeners when one throws", async () => {
    const d = tmpDir();
    const file = path.join(d, "default.yml");
    fs.writeFileSync(file, doc(1));
    const s = await open(d, { watch: false });
    s.onChange(() => {
      throw new Error("listener bug");
    });
    const changed = nextChange(s);
    fs.writeFileSync(file, doc(2));
    await s.reload();
    assert.equal(jobShare((await changed).config), 2);
  });

  it("stops after close()", async () => {
    const d = tmpDir();
    const file = path.join(d, "default.yml");
    fs.writeFileSync(file, doc(1));
    const s = await open(d);
    s.close();
    fs.writeFileSync(file, doc(2));
    assert.equal(await s.reload(), false);
    assert.equal(jobShare(s.current()), 1);
  });

  it("fromEnv reads DIRACX_CONFIG_BACKEND_URL and validates with the active config entry", async () => {
    const d = tmpDir();
    fs.writeFileSync(path.join(d, "default.yml"), doc(1, "Extra: { Colour: blue }\n"));
    const strictSchema = ConfigSchema.extend({ Extra: z.strictObject({ Colour: z.enum(["red", "blue"]) }) });
    const asked: string[] = [];
    const registry = {
      async loadActive<T>(group: string, name: string): Promise<T> {
        asked.push(`${group}/${name}`);
        return strictSchema as T;
      },
    };
    const s = await ConfigSource.fromEnv(registry, { DIRACX_CONFIG_BACKEND_URL: d }, { watch: false });
    sources.push(s);
    assert.deepEqual(asked, ["diracx/config"]);
    assert.equal(s.schema, strictSchema);
    assert.deepEqual((s.current() as Record<string, unknown>).Extra, { Colour: "blue" });

    await assert.rejects(ConfigSource.fromEnv(registry, {}), SettingsError);
    await assert.rejects(ConfigSource.fromEnv(registry, { DIRACX_CONFIG_BACKEND_URL: path.join(d, "x") }), /DIRACX_CONFIG_BACKEND_URL '.*x': no such file/);
    const notSchema = { loadActive: async <T>(): Promise<T> => ({ nope: true }) as T };
    await assert.rejects(ConfigSource.fromEnv(notSchema, { DIRACX_CONFIG_BACKEND_URL: d }), /'diracx' → 'config' entry point does not export a zod schema/);
  });
});

describe("Config dependency token", () => {
  it("is one frozen identity, typed per extension", () => {
    assert.ok(isConfigToken(Config));
    assert.equal(configToken(), Config);
    assert.ok(Object.isFrozen(Config));
    assert.ok(!isConfigToken({ kind: "diracx.config" }));
  });
});
