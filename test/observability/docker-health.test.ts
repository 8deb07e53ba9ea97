// The image and the compose file probe the health listener the commands serve.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import YAML from "yaml";
import { ROOT } from "./support.ts";

const dockerfile = fs.readFileSync(path.join(ROOT, "docker/Dockerfile"), "utf8");
const compose = YAML.parse(fs.readFileSync(path.join(ROOT, "docker/compose.yaml"), "utf8"), { merge: true }) as { services: Record<string, { command?: string[]; healthcheck?: { test: string[] } }> };

describe("docker: health checks", () => {
  it("the image sets the health port and checks /healthz on it", () => {
    assert.match(dockerfile, /^ENV DIRACX_TASKS_HEALTH_PORT=\d+$/m);
    assert.match(dockerfile, /^HEALTHCHECK .*\n?.*process\.env\.DIRACX_TASKS_HEALTH_PORT\+'\/healthz'/m);
  });

  it("every scheduler and worker service of the compose file is healthy when /readyz says so", () => {
    const longRunning = Object.entries(compose.services).filter(([, s]) => s.command?.[0] === "worker" || s.command?.[0] === "scheduler");
    assert.ok(longRunning.length >= 4);
    for (const [name, s] of longRunning) assert.match(s.healthcheck?.test.join(" ") ?? "", /DIRACX_TASKS_HEALTH_PORT\+'\/readyz'/, name);
  });
});
