// An HTTP API on real parts for tests: a private Redis, the SQL DBs on PostgreSQL or PGlite,
// a configuration file, a DiracX-format signing key in the keystore variable, and `buildApp`.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { closeAllEngines } from "../../src/db/sql/engine.ts";
import { initDatabases, initJobParameters } from "../../src/db/init.ts";
import { createEngine, type Engine } from "../../src/engine/wiring.ts";
import { buildApp, type AppOptions, type DiracxApp } from "../../src/http/app.ts";
import { generateSigningKey, mintToken, type SigningKey, type TokenClaims } from "../../src/http/dev-keys.ts";
import { loadRegistry, SQL_DBS_GROUP } from "../../src/registry/index.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { RedisServer } from "../support/redis.ts";

export const CORE_ROOT = path.resolve(import.meta.dirname, "../..");
export const GUBBINS_ROOT = path.join(CORE_ROOT, "extensions/gubbins");
export const HTTP_APP_ROOT = path.join(CORE_ROOT, "test/fixtures/http-app");
export const BAD_APP_ROOT = path.join(CORE_ROOT, "test/fixtures/http-bad-app");
export const ISSUER = "https://diracx.test.invalid";

export const TEST_CONFIG_DOC = {
  DIRAC: {},
  Registry: {
    lhcb: {
      DefaultGroup: "lhcb_user",
      Users: { alice: { PreferedUsername: "alice" }, bob: { PreferedUsername: "bob" } },
      Groups: {
        lhcb_user: { Properties: ["NormalUser"], Users: ["alice", "bob"] },
        lhcb_admin: { Properties: ["JobAdministrator", "NormalUser"], Users: [] },
        lhcb_ops: { Properties: ["Operator"], Users: [] },
        lhcb_pilot: { Properties: ["GenericPilot"], Users: [] },
      },
    },
    gridpp: { DefaultGroup: "gridpp_user", Users: {}, Groups: { gridpp_user: { Properties: ["NormalUser"] }, gridpp_ops: { Properties: ["Operator"] } } },
  },
  Operations: { Defaults: {} },
  Resources: { Computing: { OSCompatibility: { "x86_64-el9": ["el9", "el8"], "x86_64-el8": ["el8"] } } },
};

export const users = {
  alice: { vo: "lhcb", dirac_group: "lhcb_user", dirac_properties: ["NormalUser"], preferred_username: "alice" },
  bob: { vo: "lhcb", dirac_group: "lhcb_user", dirac_properties: ["NormalUser"], preferred_username: "bob" },
  banned: { vo: "lhcb", dirac_group: "lhcb_user", dirac_properties: ["NormalUser"], preferred_username: "banned" },
  admin: { vo: "lhcb", dirac_group: "lhcb_admin", dirac_properties: ["JobAdministrator", "NormalUser"], preferred_username: "admin" },
  operator: { vo: "lhcb", dirac_group: "lhcb_ops", dirac_properties: ["Operator"], preferred_username: "op" },
  gridppOperator: { vo: "gridpp", dirac_group: "gridpp_ops", dirac_properties: ["Operator"], preferred_username: "gop" },
  serviceAdmin: { vo: "lhcb", dirac_group: "lhcb_ops", dirac_properties: ["ServiceAdministrator"], preferred_username: "root" },
  pilot: { vo: "lhcb", dirac_group: "lhcb_pilot", dirac_properties: ["GenericPilot"], preferred_username: "pilot" },
} satisfies Record<string, TokenClaims>;

export interface HttpEnv {
  env: Record<string, string>;
  engine: Engine;
  key: SigningKey;
  redis: RedisServer;
  dbUrl: string;
  token(claims: TokenClaims, opts?: Parameters<typeof mintToken>[3]): Promise<string>;
  build(overrides?: Partial<AppOptions> & { env?: Record<string, string> }): Promise<DiracxApp>;
  close(): Promise<void>;
}

let pgliteCounter = 0;

/** Everything `buildApp` needs, on real Redis and a real database. */
export async function setupHttpEnv(opts: { appRoot?: string; backend?: "postgresql" | "pglite"; extraEnv?: Record<string, string> } = {}): Promise<HttpEnv> {
  const appRoot = opts.appRoot ?? CORE_ROOT;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-http-"));
  const configFile = path.join(tmp, "default.yml");
  fs.writeFileSync(configFile, YAML.stringify(TEST_CONFIG_DOC));
  const redis = await RedisServer.start();
  const dbUrl = opts.backend === "postgresql" ? await createTestDatabase("http") : `pglite://memory#http-${process.pid}-${++pgliteCounter}`;
  const key = await generateSigningKey();
  const registry = await loadRegistry({ appRoot });
  const env: Record<string, string> = {
    DIRACX_CONFIG_BACKEND_URL: configFile,
    DIRACX_TASKS_REDIS_URL: redis.url,
    DIRACX_DB_URL_JOBPARAMETERSDB: dbUrl,
    DIRACX_SERVICE_AUTH_TOKEN_KEYSTORE: JSON.stringify(key.jwks),
    DIRACX_SERVICE_AUTH_TOKEN_ISSUER: ISSUER,
    ...opts.extraEnv,
  };
  for (const ep of registry.active(SQL_DBS_GROUP)) env[`DIRACX_DB_URL_${ep.name.toUpperCase()}`] = dbUrl;
  await initDatabases(registry, { env });
  await initJobParameters(env);
  const engine = await createEngine({ env, appRoot, redisUrl: redis.url });
  const apps: DiracxApp[] = [];
  return {
    env,
    engine,
    key,
    redis,
    dbUrl,
    token: (claims, o) => mintToken(key, ISSUER, claims, o),
    async build(overrides = {}) {
      const built = await buildApp({ engine, ...overrides, env: { ...env, ...overrides.env } });
      apps.push(built);
      return built;
    },
    async close() {
      for (const a of apps) await a.app.close();
      await engine.close();
      await closeAllEngines();
      await redis.stop();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

export const bearer = (token: string): { authorization: string } => ({ authorization: `Bearer ${token}` });
