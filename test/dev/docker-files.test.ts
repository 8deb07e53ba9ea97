import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { demoConfigYaml } from "../../src/dev/demo-config.ts";
import { SandboxStoreSettings } from "../../src/sandbox/index.ts";
import { baseTag, imageTags, releaseVersion } from "../../docker/tags.mjs";
import { spawnSync } from "node:child_process";
import os from "node:os";

// No Docker engine runs the tests; these checks keep docker/ consistent with the code.
const docker = path.resolve(import.meta.dirname, "../../docker");

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(fs.readFileSync(path.join(docker, "compose.yaml"), "utf8"), { merge: true }) as { services: Record<string, Service> };

describe("docker/", () => {
  test("compose runs one scheduler and one worker pool per task size, after db init", () => {
    const commands = Object.values(compose.services).map((s) => s.command?.join(" ") ?? "");
    assert.equal(commands.filter((c) => c === "scheduler").length, 1);
    for (const size of ["small", "medium", "large"]) {
      assert.equal(commands.filter((c) => c.startsWith(`worker --size ${size} `)).length, 1, size);
    }
    assert.ok(commands.includes("db init"));
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.command?.[0] === "worker" || s.command?.[0] === "scheduler") {
        assert.equal(s.depends_on?.["db-init"]?.condition, "service_completed_successfully", name);
        assert.equal(s.environment?.DIRACX_TASKS_REDIS_URL, "redis://redis:6379", name);
      }
    }
  });

  test("each worker's --shutdown-timeout equals its stop_grace_period", () => {
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.command?.[0] !== "worker") continue;
      const timeout = s.command[s.command.indexOf("--shutdown-timeout") + 1];
      assert.equal(`${timeout}s`, (s as { stop_grace_period?: string }).stop_grace_period, name);
    }
  });

  test("the services' sandbox store settings are valid", () => {
    const env = compose.services.scheduler?.environment ?? {};
    const settings = SandboxStoreSettings.fromEnv(env);
    assert.equal(settings.directory, "/data/sandboxes");
  });

  test("every SQL DB URL variable is set for the services", () => {
    const env = compose.services["worker-medium"]?.environment ?? {};
    for (const db of ["JOBDB", "JOBLOGGINGDB", "TASKQUEUEDB", "PILOTAGENTSDB", "SANDBOXMETADATADB", "TASKDB"]) {
      assert.match(env[`DIRACX_DB_URL_${db}`] ?? "", /^postgresql:\/\//, db);
    }
  });

  test("the mounted configuration is the demo configuration", () => {
    assert.equal(fs.readFileSync(path.join(docker, "config", "default.yml"), "utf8"), demoConfigYaml());
  });

  test("both images run the diracx-tasks CLI; the extension image builds on the core one", () => {
    const core = fs.readFileSync(path.join(docker, "Dockerfile"), "utf8");
    assert.match(core, /^ARG NODE_IMAGE=node:24-slim$/m);
    assert.match(core, /npm ci --omit=dev/);
    assert.match(core, /^ENTRYPOINT \["tini", "--", "diracx-tasks"\]$/m);
    const gubbins = fs.readFileSync(path.join(docker, "Dockerfile.gubbins"), "utf8");
    assert.match(gubbins, /^FROM \$\{TASKS_IMAGE\}$/m);
    assert.match(gubbins, /^ENV DIRACX_APP_ROOT=\/opt\/diracx-tasks\/extensions\/gubbins$/m);
    // The symlink the image makes is what gubbins' own dependency declares.
    const pkg = JSON.parse(fs.readFileSync(path.resolve(docker, "../extensions/gubbins/package.json"), "utf8")) as { dependencies: Record<string, string> };
    assert.equal(pkg.dependencies["diracx-tasks"], "file:../..");
  });

  test("the tasks image builds FROM the dated base image and checks its own health", () => {
    const core = fs.readFileSync(path.join(docker, "Dockerfile"), "utf8");
    assert.match(core, /^FROM \$\{BASE_IMAGE\}$/m);
    assert.match(core, /^ENV DIRACX_TASKS_HEALTH_PORT=\d+$/m);
    assert.match(core, /^HEALTHCHECK .*\n\s+CMD .*DIRACX_TASKS_HEALTH_PORT.*\/healthz/m);
    const base = fs.readFileSync(path.join(docker, "Dockerfile.base"), "utf8");
    assert.match(base, /^ARG NODE_IMAGE=node:24-slim$/m);
    assert.match(base, /tini/);
    assert.match(base, /^USER node$/m);
    // The one-shot db init has no health port; compose disables the inherited check there.
    assert.deepEqual((compose.services["db-init"] as { healthcheck?: unknown }).healthcheck, { disable: true });
  });

  test("image tags: vX.Y.Z of the one version, YYYY.MM.DD.P for base images", () => {
    const version = JSON.parse(fs.readFileSync(path.resolve(docker, "../package.json"), "utf8")).version as string;
    assert.equal(releaseVersion(), version);
    const day = new Date("2026-12-02T15:00:00Z");
    assert.equal(baseTag(day, []), "2026.12.02.1");
    assert.equal(baseTag(day, ["2026.12.02.1", "2026.12.02.3", "2026.12.01.9", "latest"]), "2026.12.02.4");
    assert.deepEqual(imageTags({ date: day, existing: ["2026.12.02.1"], registry: "ghcr.io/diracgrid/" }), {
      base: "ghcr.io/diracgrid/diracx-tasks-base:2026.12.02.2",
      tasks: `ghcr.io/diracgrid/diracx-tasks:v${version}`,
      gubbins: `ghcr.io/diracgrid/diracx-tasks-gubbins:v${version}`,
    });
    const out = spawnSync(process.execPath, [path.join(docker, "tags.mjs"), "--date", "2026-12-02"], { encoding: "utf8" });
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /^base=diracx-tasks-base:2026\.12\.02\.1\ntasks=diracx-tasks:v/);
  });

  test("packages whose versions differ get no tag, with one line naming them", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tags-"));
    fs.mkdirSync(path.join(dir, "extensions", "acme"), { recursive: true });
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "diracx-tasks", version: "1.2.3" }));
    fs.writeFileSync(path.join(dir, "extensions", "acme", "package.json"), JSON.stringify({ name: "acme", version: "1.2.4" }));
    assert.throws(() => releaseVersion(dir), /one version for all packages: diracx-tasks is 1\.2\.3, but acme@1\.2\.4/);
    fs.rmSync(dir, { recursive: true });
    const bad = spawnSync(process.execPath, [path.join(docker, "tags.mjs"), "--dte", "2026-12-02"], { encoding: "utf8" });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown or incomplete option --dte/);
  });
});
