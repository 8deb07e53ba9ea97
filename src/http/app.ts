// The HTTP API of `diracx-tasks serve`, built from the registry as DiracX's create_app builds
// its FastAPI app: routers from `diracx.services` in sorted name order, each under
// `<pathRoot>/<system>` with the system as OpenAPI tag and `<system>_<route>` as operationId.
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import { z } from "zod";
import { isConfigToken } from "../config/token.ts";
import { missingDependencies, type DependencySpec } from "../db/unit-of-work.ts";
import type { Engine } from "../engine/wiring.ts";
import { logger as rootLogger, type Logger } from "../logging.ts";
import { defineSettings, isSettingsClass, SettingsError, type Env } from "../settings.ts";
import { EntryPointError } from "../registry/errors.ts";
import { ACCESS_POLICIES_GROUP, SERVICES_GROUP } from "../registry/groups.ts";
import type { EntryPoint } from "../registry/index.ts";
import { verifierFromEnv, type AuthorizedUser, type TokenVerifier } from "./auth.ts";
import { CLIENT_VERSION_HEADER, checkClientVersion, minClientVersion } from "./client-version.ts";
import { bodyLimitFor, errorResponse, HttpError, HttpSetupError } from "./errors.ts";
import { isAccessPolicy, type AccessPolicy, type PolicyRequest } from "./policies/policy.ts";
import { knownProperties, unknownProperties } from "./properties.ts";
import { isRouter, routerDependencies, type RouteDefinition, type RouterDefinition } from "./router.ts";
import { DASHBOARD_PATH, dashboardPlugin } from "../dashboard/plugin.ts";
import { TASKS_POLICY } from "./policies/tasks.ts";

export const OPENAPI_PATH = "/api/openapi.json";
export const DOCS_PATH = "/api/docs";

declare module "fastify" {
  interface FastifyRequest {
    diracxUser: AuthorizedUser | undefined;
  }
}

export class HttpSettings extends defineSettings(
  "DIRACX_DEV_",
  z.object({
    /** A route that never asked its access policy stops the process (as upstream's dev flag). */
    crashOnMissedAccessPolicy: z.boolean().default(false),
  }),
) {}

/** `.well-known` (and any name containing it) cannot be disabled, as upstream. */
export function canBeDisabled(system: string): boolean {
  return !system.includes("well-known");
}

export function serviceEnvName(system: string): string {
  return `DIRACX_SERVICE_${system.toUpperCase().replace(/[^A-Z0-9]+/g, "_").replace(/^_+|_+$/g, "")}_ENABLED`;
}

const ENABLED_VAR = /^DIRACX_SERVICE_(.+)_ENABLED$/;

/** Whether each system is enabled; `DIRACX_SERVICE_<X>_ENABLED` for a system nobody provides is refused. */
export function enabledSystems(systems: readonly string[], env: Env, log: Logger = rootLogger): Set<string> {
  const byVar = new Map(systems.map((s) => [serviceEnvName(s), s]));
  for (const name of Object.keys(env)) {
    if (ENABLED_VAR.test(name) && !byVar.has(name) && env[name]?.trim()) {
      throw new HttpSetupError(`${name}: no router '${ENABLED_VAR.exec(name)![1]!.toLowerCase()}' in ${SERVICES_GROUP} (installed: ${systems.join(", ") || "none"})`);
    }
  }
  const enabled = new Set<string>();
  for (const s of systems) {
    const v = env[serviceEnvName(s)]?.trim();
    if (!canBeDisabled(s) || !v) {
      if (v && !canBeDisabled(s)) log.warn(`${serviceEnvName(s)} is ignored: ${s} cannot be disabled`);
      enabled.add(s);
      continue;
    }
    const Flag = defineSettings(serviceEnvName(s).slice(0, -"ENABLED".length), z.object({ enabled: z.boolean().default(true) }));
    if (Flag.fromEnv(env).enabled) enabled.add(s);
  }
  return enabled;
}

export interface MountedRouter {
  system: string;
  entry: EntryPoint;
  router: RouterDefinition;
  prefix: string;
}

/** The enabled routers, loaded and checked, in mount order (sorted by system name). */
export async function loadRouters(engine: Engine, env: Env): Promise<MountedRouter[]> {
  const entries = engine.registry.active(SERVICES_GROUP);
  const enabled = enabledSystems(
    entries.map((e) => e.name),
    env,
  );
  const out: MountedRouter[] = [];
  for (const entry of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!enabled.has(entry.name)) continue;
    const router = await engine.registry.load(entry);
    if (!isRouter(router)) throw new EntryPointError(entry, "is not a router (export the result of defineRouter())");
    checkRouterDependencies(entry.name, router, engine, env);
    const prefix = `${router.pathRoot}/${entry.name}`;
    out.push({ system: entry.name, entry, router, prefix });
  }
  return out;
}

function checkRouterDependencies(system: string, router: RouterDefinition, engine: Engine, env: Env): void {
  const spec = routerDependencies(router);
  const missing = missingDependencies(spec, engine.registry, env);
  for (const token of Object.values(spec)) {
    if (isConfigToken(token) && !engine.config) missing.push("DIRACX_CONFIG_BACKEND_URL (for the configuration)");
    if (isSettingsClass(token)) {
      try {
        token.fromEnv(env);
      } catch (err) {
        if (err instanceof SettingsError) missing.push(err.message);
        else throw err;
      }
    }
  }
  if (missing.length) throw new HttpSetupError(`router '${system}' cannot be enabled: it requires ${[...new Set(missing)].join(", ")} (or set ${serviceEnvName(system)}=false)`);
}

export interface AppOptions {
  engine: Engine;
  env?: Env;
  logger?: Logger;
  /** Overrides the verifier built from DIRACX_SERVICE_AUTH_* (tests, dev). */
  verifier?: TokenVerifier;
  /** What a missed access policy does when DIRACX_DEV_CRASH_ON_MISSED_ACCESS_POLICY is true (default: exit 1). */
  onMissedPolicy?: (route: string) => void;
}

export interface RouteInfo {
  method: string;
  url: string;
  system: string;
  name: string;
  operationId: string;
  requireAuth: boolean;
  policy: string | undefined;
  openAccess: boolean;
}

export interface DiracxApp {
  app: FastifyInstance;
  routers: readonly MountedRouter[];
  routes: readonly RouteInfo[];
}

async function loadPolicies(engine: Engine, names: Iterable<string>): Promise<Map<string, AccessPolicy[]>> {
  const out = new Map<string, AccessPolicy[]>();
  for (const name of names) {
    const impls: AccessPolicy[] = [];
    for (const ep of engine.registry.candidates(ACCESS_POLICIES_GROUP, name)) {
      const p = await engine.registry.load(ep);
      if (!isAccessPolicy(p)) throw new EntryPointError(ep, "is not an access policy (an object with decide(user, request))");
      impls.push(p);
    }
    out.set(name, impls);
  }
  return out;
}

/** Builds the fastify app (not listening). Every refusal is an HttpSetupError or EntryPointError naming what and where. */
export async function buildApp(opts: AppOptions): Promise<DiracxApp> {
  const { engine } = opts;
  const env = opts.env ?? process.env;
  const log = (opts.logger ?? rootLogger).child({ component: "http" });
  const routers = await loadRouters(engine, env);
  const settings = HttpSettings.fromEnv(env);

  const routes: RouteInfo[] = [];
  const seen = new Map<string, string>();
  const policyNames = new Set<string>();
  for (const m of routers) {
    for (const r of m.router.routes) {
      const url = `${m.prefix}${r.path}` || "/";
      const key = `${r.method} ${url}`;
      const other = seen.get(key);
      if (other) throw new HttpSetupError(`${key} is claimed by both router '${other}' and router '${m.system}'`);
      seen.set(key, m.system);
      if (m.router.requireAuth && !r.policy && !r.openAccess) throw new HttpSetupError(`route ${key} (router '${m.system}', ${r.name}) declares no access policy and is not marked openAccess`);
      if (r.policy) policyNames.add(r.policy);
      routes.push({ method: r.method, url, system: m.system, name: r.name, operationId: `${m.system}_${r.name}`, requireAuth: m.router.requireAuth, policy: r.policy, openAccess: !!r.openAccess });
    }
  }
  const policies = await loadPolicies(engine, policyNames);
  for (const [name, impls] of policies) {
    if (impls.length === 0) {
      const user = routes.find((r) => r.policy === name)!;
      throw new HttpSetupError(`route ${user.method} ${user.url} asks access policy '${name}', which no ${ACCESS_POLICIES_GROUP} entry provides`);
    }
  }
  const needsAuth = routers.some((m) => m.router.requireAuth);
  const knownVo = (vo: string): boolean => !engine.config || vo in (engine.config.current().Registry ?? {});
  const verifier = opts.verifier ?? (needsAuth ? await verifierFromEnv(env, { knownVo }) : undefined);
  const minimum = await minClientVersion(engine.registry);
  if (engine.config) {
    const known = await knownProperties(engine.registry);
    for (const p of unknownProperties(engine.config.current(), known)) log.warn(`unknown DIRAC property in the configuration: ${p} (not core's, nor in a diracx → properties_module)`);
  }

  const app = Fastify({ loggerInstance: log as unknown as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), bodyLimit: bodyLimitFor(engine.producer.maxPayloadBytes) });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest("diracxUser", undefined);

  app.setErrorHandler((err, req, reply) => {
    const res = errorResponse(err);
    if (res.internal) log.error({ err, url: req.url, method: req.method }, "request failed");
    void reply.code(res.status).headers(res.headers).send(res.body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ detail: "Not Found" });
  });
  app.addHook("onRequest", async (req) => {
    const v = req.headers[CLIENT_VERSION_HEADER];
    checkClientVersion(Array.isArray(v) ? v[0] : v, minimum);
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "DiracX tasks", version: engine.registry.coreVersion },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PATH, uiConfig: { deepLinking: false } });
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());

  for (const m of routers) {
    for (const r of m.router.routes) {
      registerRoute(app, m, r, { engine, verifier, policies, log, crash: settings.crashOnMissedAccessPolicy, onMissedPolicy: opts.onMissedPolicy });
    }
  }
  // The dashboard asks the operator API's policy for every page and action.
  const tasksPolicy = policies.get(TASKS_POLICY) ?? (await loadPolicies(engine, [TASKS_POLICY])).get(TASKS_POLICY)!;
  if (verifier && tasksPolicy.length) await app.register(dashboardPlugin, { prefix: DASHBOARD_PATH, engine, verifier, policy: tasksPolicy, env, log });
  await app.ready();
  return { app, routers, routes };
}

interface RouteDeps {
  engine: Engine;
  verifier: TokenVerifier | undefined;
  policies: Map<string, AccessPolicy[]>;
  log: Logger;
  crash: boolean;
  onMissedPolicy: ((route: string) => void) | undefined;
}

function registerRoute(app: FastifyInstance, m: MountedRouter, r: RouteDefinition, d: RouteDeps): void {
  const url = `${m.prefix}${r.path}` || "/";
  const label = `${r.method} ${url}`;
  const spec: DependencySpec = r.dependencies ?? {};
  const hasDeps = Object.keys(spec).length > 0;
  const chain = r.policy ? d.policies.get(r.policy)! : [];

  const authenticate = async (req: FastifyRequest): Promise<void> => {
    if (!m.router.requireAuth) return;
    if (!d.verifier) throw new HttpSetupError("no token verifier");
    const auth = req.headers.authorization;
    req.diracxUser = await d.verifier.verify(auth);
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const user = req.diracxUser;
    let asked = false;
    let status = r.status ?? 200;
    const reqLog = d.log.child({ route: label, ...(user ? { sub: user.sub } : {}) });
    const checkPermissions = async (request: PolicyRequest): Promise<void> => {
      asked = true;
      if (!user) throw new HttpError(401, "Authorization header is missing", { "WWW-Authenticate": "Bearer" });
      for (const impl of chain) {
        let decision;
        try {
          decision = await impl.decide(user, request);
        } catch (err) {
          reqLog.error({ err, policy: r.policy }, "access policy failed; the request is refused");
          throw new HttpError(500, `access policy ${r.policy} failed`);
        }
        if (decision === "allow") return;
        if (decision === "deny") throw new HttpError(403, "Forbidden");
      }
      throw new HttpError(403, "Forbidden");
    };
    const afterCommit: (() => Promise<void>)[] = [];
    const uow = hasDeps ? await d.engine.openUnitOfWork(spec) : undefined;
    let result: unknown;
    try {
      result = await r.handler(
        { body: req.body as never, query: req.query as never, params: req.params as never, headers: req.headers },
        { user, deps: (uow?.deps ?? {}) as never, checkPermissions, engine: d.engine, log: reqLog, status: (c) => void (status = c), afterCommit: (fn) => void afterCommit.push(fn), header: (n, v) => void reply.header(n, v) },
      );
    } catch (err) {
      await uow?.rollback();
      throw err;
    }
    if (status < 400) {
      await uow?.commit();
      for (const fn of afterCommit) await fn();
    } else await uow?.rollback();
    if (r.policy && !asked) {
      reqLog.error("THIS SHOULD NOT HAPPEN, ALWAYS VERIFY PERMISSION: the route never asked its access policy");
      if (d.crash) (d.onMissedPolicy ?? (() => process.exit(1)))(label);
    }
    void reply.code(status);
    return result;
  };

  app.route({
    method: r.method,
    url,
    onRequest: authenticate,
    schema: {
      tags: [m.system],
      operationId: `${m.system}_${r.name}`,
      ...(r.summary ? { summary: r.summary } : {}),
      ...(m.router.includeInSchema ? {} : { hide: true }),
      ...(m.router.requireAuth ? { security: [{ bearer: [] }] } : {}),
      ...(r.body ? { body: r.body } : {}),
      ...(r.query ? { querystring: r.query } : {}),
      ...(r.params ? { params: r.params } : {}),
      ...(r.response ? { response: { [r.status ?? 200]: r.response } } : {}),
    },
    handler,
  });
}
