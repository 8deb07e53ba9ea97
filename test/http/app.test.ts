import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { buildApp } from "../../src/http/app.ts";
import { createEngine } from "../../src/engine/wiring.ts";
import { loadRegistry, SERVICES_GROUP } from "../../src/registry/index.ts";
import { isRouter } from "../../src/http/router.ts";
import type { DiracxApp } from "../../src/http/app.ts";
import { BAD_APP_ROOT, bearer, CORE_ROOT, GUBBINS_ROOT, HTTP_APP_ROOT, setupHttpEnv, users, type HttpEnv } from "./support.ts";

const JDL = `[\n  Executable = "echo";\n  JobName = "hello";\n  Platform = "x86_64-el9";\n]`;

describe("HTTP app on the extension fixture (policies, client version)", () => {
  let he: HttpEnv;
  let built: DiracxApp;
  before(async () => {
    he = await setupHttpEnv({ appRoot: HTTP_APP_ROOT });
    built = await built_();
  });
  const built_ = () => he.build();
  after(() => he.close());

  test("extension undecided → core decides: a NormalUser submits; a pilot may not create", async () => {
    const ok = await built.app.inject({ method: "POST", url: "/api/jobs/jdl", headers: bearer(await he.token(users.alice)), payload: [JDL] });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json()[0].Status, "Received");
    const pilot = await built.app.inject({ method: "POST", url: "/api/jobs/jdl", headers: bearer(await he.token(users.pilot)), payload: [JDL] });
    assert.equal(pilot.statusCode, 403);
    assert.deepEqual(pilot.json(), { detail: "Forbidden" });
  });

  test("extension deny wins over core's allow", async () => {
    const res = await built.app.inject({ method: "POST", url: "/api/jobs/jdl", headers: bearer(await he.token(users.banned)), payload: [JDL] });
    assert.equal(res.statusCode, 403);
  });

  test("nobody decides → 403; a policy that throws → 500, never allow", async () => {
    const t = bearer(await he.token(users.admin));
    assert.equal((await built.app.inject({ method: "GET", url: "/api/probe/nobody", headers: t })).statusCode, 403);
    const thrown = await built.app.inject({ method: "GET", url: "/api/probe/throws", headers: t });
    assert.equal(thrown.statusCode, 500);
    assert.deepEqual(thrown.json(), { detail: "access policy Throws failed" });
  });

  test("NormalUser cannot see or change another owner's job; JobAdministrator can", async () => {
    const [job] = (await built.app.inject({ method: "POST", url: "/api/jobs/jdl", headers: bearer(await he.token(users.alice)), payload: [JDL] })).json();
    const bob = bearer(await he.token(users.bob));
    const search = await built.app.inject({ method: "POST", url: "/api/jobs/search", headers: bob, payload: { search: [{ parameter: "JobID", operator: "eq", value: job.JobID }] } });
    assert.equal(search.statusCode, 200);
    assert.deepEqual(search.json(), []);
    const kill = await built.app.inject({ method: "DELETE", url: `/api/jobs?job_ids=${job.JobID}`, headers: bob });
    assert.equal(kill.statusCode, 403);
    const admin = await built.app.inject({ method: "POST", url: "/api/jobs/search", headers: bearer(await he.token(users.admin)), payload: { parameters: ["JobID", "Owner"], search: [{ parameter: "JobID", operator: "eq", value: job.JobID }] } });
    assert.deepEqual(admin.json(), [{ JobID: job.JobID, Owner: "alice" }]);
    const own = await built.app.inject({ method: "POST", url: "/api/jobs/search", headers: bearer(await he.token(users.alice)), payload: { parameters: ["JobID", "Status"], search: [{ parameter: "JobID", operator: "eq", value: job.JobID }] } });
    assert.deepEqual(own.json(), [{ JobID: job.JobID, Status: "Received" }]);
  });

  test("minimum client version (the extension's 0.2.0): absent, older, equal, newer, garbage", async () => {
    const t = bearer(await he.token(users.alice));
    const get = (v?: string) => built.app.inject({ method: "GET", url: "/api/probe/me", headers: { ...t, ...(v === undefined ? {} : { "DiracX-Client-Version": v }) } });
    assert.equal((await get()).statusCode, 200);
    const older = await get("0.1.9");
    assert.equal(older.statusCode, 400);
    assert.deepEqual(older.json(), { detail: "Client version 0.1.9 is not compatible with the server. Upgrade to a version >= 0.2.0." });
    assert.equal((await get("0.0.1a1")).statusCode, 400);
    assert.equal((await get("0.2.0")).statusCode, 200);
    assert.equal((await get("0.2.1.dev3+local")).statusCode, 200);
    assert.equal((await get("1.0.0")).statusCode, 200);
    const bad = await get("x.y");
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json(), { detail: "Invalid version string: 'x.y'" });
  });

  test("a route that never asks its policy: logged, and stops the process under DIRACX_DEV_CRASH_ON_MISSED_ACCESS_POLICY", async () => {
    const crashed: string[] = [];
    const strict = await he.build({ env: { DIRACX_DEV_CRASH_ON_MISSED_ACCESS_POLICY: "true" }, onMissedPolicy: (r) => crashed.push(r) });
    const t = bearer(await he.token(users.alice));
    await strict.app.inject({ method: "GET", url: "/api/probe/forgets", headers: t });
    assert.deepEqual(crashed, ["GET /api/probe/forgets"]);
    await built.app.inject({ method: "GET", url: "/api/probe/forgets", headers: t });
    assert.equal(crashed.length, 1);
  });
});

describe("HTTP app on core", () => {
  let he: HttpEnv;
  let built: DiracxApp;
  before(async () => {
    he = await setupHttpEnv();
    built = await he.build();
  });
  after(() => he.close());

  test("validation errors are 422 {detail: [...]}; an unparsable JDL is 400 naming the line; an unknown search field 400; nothing written", async () => {
    const t = bearer(await he.token(users.alice));
    const v = await built.app.inject({ method: "POST", url: "/api/jobs/jdl", headers: t, payload: { not: "a list" } });
    assert.equal(v.statusCode, 422);
    assert.ok(Array.isArray(v.json().detail) && v.json().detail.length > 0);
    const count = async () => (await he.engine.openUnitOfWork({})) && (await built.app.inject({ method: "POST", url: "/api/jobs/search", headers: bearer(await he.token(users.admin)), payload: {} })).json().length;
    const before = await count();
    const bad = await built.app.inject({ method: "POST", url: "/api/jobs/jdl", headers: t, payload: [JDL, `[\n  Executable = "echo";\n  Arguments = ;\n]`] });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().detail, /JDL 2: JDL syntax error at line 3/);
    assert.equal(await count(), before, "the first JDL of the failed request was not kept");
    const unknown = await built.app.inject({ method: "POST", url: "/api/jobs/search", headers: t, payload: { search: [{ parameter: "NoSuchField", operator: "eq", value: 1 }] } });
    assert.equal(unknown.statusCode, 400);
    assert.match(unknown.json().detail, /unknown column 'NoSuchField'/);
  });

  test("every route of every router in the registry declares a policy or is open", async () => {
    const registry = await loadRegistry({ appRoot: GUBBINS_ROOT });
    const core = await loadRegistry({ appRoot: CORE_ROOT });
    const fixture = await loadRegistry({ appRoot: HTTP_APP_ROOT });
    let checked = 0;
    for (const reg of [core, registry, fixture]) {
      for (const ep of reg.entries(SERVICES_GROUP)) {
        const router = await reg.load(ep);
        assert.ok(isRouter(router), `${ep.package}: ${ep.name} is a router`);
        for (const r of router.routes) {
          checked++;
          if (router.requireAuth) assert.ok(r.policy || r.openAccess, `${ep.package} ${ep.name} ${r.method} ${r.path} declares a policy`);
        }
      }
    }
    assert.ok(checked >= 10);
  });

  test("OpenAPI at /api/openapi.json: deterministic, operationId <system>_<route>, tag = system, matches the snapshot", async () => {
    const doc = (await built.app.inject({ method: "GET", url: "/api/openapi.json" })).json();
    const again = (await (await he.build()).app.inject({ method: "GET", url: "/api/openapi.json" })).json();
    assert.deepEqual(doc, again);
    const ops: string[] = [];
    for (const [p, methods] of Object.entries(doc.paths as Record<string, Record<string, { operationId: string; tags: string[] }>>)) {
      for (const [m, op] of Object.entries(methods)) {
        ops.push(`${m.toUpperCase()} ${p} ${op.operationId}`);
        assert.equal(op.operationId.split("_")[0], op.tags[0]!.replace(/^\.well-known$/, ".well-known"));
      }
    }
    assert.ok(ops.includes("POST /api/jobs/jdl jobs_submit_jdl_jobs"), ops.join("\n"));
    assert.ok(!ops.some((o) => o.includes("/api/health")), "health is not in the schema");
    const snapshot = path.join(import.meta.dirname, "openapi.snapshot.json");
    const text = JSON.stringify(doc, null, 2) + "\n";
    if (process.env.UPDATE_SNAPSHOTS === "1") fs.writeFileSync(snapshot, text);
    assert.equal(text, fs.readFileSync(snapshot, "utf8"), "OpenAPI changed: rerun with UPDATE_SNAPSHOTS=1 and review the diff");
    const docs = await built.app.inject({ method: "GET", url: "/api/docs/" });
    assert.equal(docs.statusCode, 200);
    assert.doesNotMatch(docs.body, /https?:\/\/(cdn|unpkg)/, "docs are served locally");
  });

  test("health and .well-known need no token", async () => {
    assert.deepEqual((await built.app.inject({ method: "GET", url: "/api/health/live" })).json(), { status: "live" });
    assert.deepEqual((await built.app.inject({ method: "GET", url: "/api/health/ready" })).json(), { status: "ready" });
    const meta = (await built.app.inject({ method: "GET", url: "/.well-known/dirac-metadata" })).json();
    assert.deepEqual(Object.keys(meta.virtual_organizations).sort(), ["gridpp", "lhcb"]);
    assert.equal(meta.virtual_organizations.lhcb.default_group, "lhcb_user");
  });

  test("DIRACX_SERVICE_JOBS_ENABLED=false removes the router; .well-known cannot be disabled; unknown system refused", async () => {
    const off = await he.build({ env: { DIRACX_SERVICE_JOBS_ENABLED: "false", DIRACX_SERVICE_WELL_KNOWN_ENABLED: "false" } });
    assert.deepEqual(off.routers.map((r) => r.system), [".well-known", "health", "tasks"]);
    assert.equal((await off.app.inject({ method: "POST", url: "/api/jobs/jdl", payload: [JDL] })).statusCode, 404);
    await assert.rejects(() => he.build({ env: { DIRACX_SERVICE_NOPE_ENABLED: "false" } }), /DIRACX_SERVICE_NOPE_ENABLED: no router 'nope' in diracx.services \(installed: .*jobs/);
    await assert.rejects(() => he.build({ env: { DIRACX_SERVICE_JOBS_ENABLED: "maybe" } }), /DIRACX_SERVICE_JOBS_ENABLED: expected a boolean/);
  });

  test("a router whose DB URL is missing refuses to start, naming router and variable", async () => {
    await assert.rejects(() => he.build({ env: { DIRACX_DB_URL_JOBLOGGINGDB: "" } }), /router 'jobs' cannot be enabled: it requires DIRACX_DB_URL_JOBLOGGINGDB \(for JobLoggingDB\)/);
  });

  test("a database that is down answers 503 with Retry-After", async () => {
    const down = await createEngine({ env: { ...he.env, DIRACX_DB_URL_JOBDB: "postgresql://u:secret@127.0.0.1:1/nodb" }, appRoot: CORE_ROOT, redisUrl: he.redis.url });
    try {
      const app = (await buildApp({ engine: down, env: { ...he.env, DIRACX_DB_URL_JOBDB: "postgresql://u:secret@127.0.0.1:1/nodb" } })).app;
      const res = await app.inject({ method: "POST", url: "/api/jobs/search", headers: bearer(await he.token(users.alice)), payload: {} });
      assert.equal(res.statusCode, 503);
      assert.equal(res.headers["retry-after"], "10");
      assert.doesNotMatch(res.body, /secret/);
      await app.close();
    } finally {
      await down.close();
    }
  });

  test("a router entry that is not a router, and two routers claiming one path, refuse to start", async () => {
    const bad = await setupHttpEnv({ appRoot: BAD_APP_ROOT });
    try {
      await assert.rejects(() => bad.build({ env: { DIRACX_SERVICE_API_ENABLED: "false" } }), /http-bad-app.*diracx.services.*notarouter.*is not a router/);
      await assert.rejects(() => bad.build({ env: { DIRACX_SERVICE_NOTAROUTER_ENABLED: "false" } }), /POST \/api\/jobs\/jdl is claimed by both router 'api' and router 'jobs'/);
    } finally {
      await bad.close();
    }
  });
});

describe("DIRAC properties", () => {
  test("an extension's properties_module adds properties; others in the configuration are reported", async () => {
    const { knownProperties, unknownProperties } = await import("../../src/http/properties.ts");
    const { ConfigSchema } = await import("../../src/config/schema.ts");
    const config = ConfigSchema.parse({ Registry: { lhcb: { Groups: { g: { Properties: ["NormalUser", "GubbinsSensei", "Typo"] } } } } });
    const core = await knownProperties(await loadRegistry({ appRoot: CORE_ROOT }));
    const gubbins = await knownProperties(await loadRegistry({ appRoot: GUBBINS_ROOT }));
    assert.deepEqual(unknownProperties(config, core), ["Registry.lhcb.Groups.g.Properties: GubbinsSensei", "Registry.lhcb.Groups.g.Properties: Typo"]);
    assert.deepEqual(unknownProperties(config, gubbins), ["Registry.lhcb.Groups.g.Properties: Typo"]);
  });
});
