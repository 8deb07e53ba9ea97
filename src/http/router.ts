// What a `diracx.services` entry exports: a router definition. Each route names its access
// policy (or is marked open), its zod schemas (validation and OpenAPI) and the dependencies
// it needs — one transaction per DB for the request, committed below status 400.
import type { z } from "zod";
import type { Logger } from "pino";
import type { DependencySpec, ResolvedDeps } from "../db/unit-of-work.ts";
import type { Engine } from "../engine/wiring.ts";
import type { AuthorizedUser } from "./auth.ts";
import type { PolicyRequest } from "./policies/policy.ts";

export type HttpMethod = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

const ROUTER = Symbol.for("diracx.router");

type Schema = z.ZodType;
type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteContext<D extends DependencySpec> {
  /** The verified token's user; undefined only on routers without authentication. */
  readonly user: AuthorizedUser | undefined;
  readonly deps: ResolvedDeps<D>;
  /** Asks the route's policy; throws a 403 HttpError unless it allows. */
  checkPermissions(request: PolicyRequest): Promise<void>;
  readonly engine: Engine;
  readonly log: Logger;
  /** Runs `fn` once the request's transactions have committed (e.g. submitting tasks about the rows just written). */
  afterCommit(fn: () => Promise<void>): void;
  /** Sets a response header. */
  header(name: string, value: string): void;
  /** Sets the status code of a successful answer (default: the route's `status`, else 200). */
  status(code: number): void;
}

export interface RouteRequest<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface RouteDefinition<D extends DependencySpec = DependencySpec, B extends Schema | undefined = Schema | undefined, Q extends Schema | undefined = Schema | undefined, P extends Schema | undefined = Schema | undefined> {
  method: HttpMethod;
  /** Relative to the router's mount point; "" is the mount point itself. */
  path: string;
  /** The route's name: its operationId is `<system>_<name>`. */
  name: string;
  summary?: string;
  /** The `diracx.access_policies` name the route asks; or `openAccess: true`. */
  policy?: string;
  openAccess?: true;
  status?: number;
  dependencies?: D;
  body?: B;
  query?: Q;
  params?: P;
  response?: Schema;
  handler(req: RouteRequest<Out<B>, Out<Q>, Out<P>>, ctx: RouteContext<D>): Promise<unknown>;
}

export interface RouterDefinition {
  readonly [ROUTER]: true;
  /** Whether a valid DiracX token is required (default true). */
  readonly requireAuth: boolean;
  /** Shown in /api/openapi.json (health is not, as upstream). */
  readonly includeInSchema: boolean;
  /** Mounted at `<pathRoot>/<system>` (default "/api"; `.well-known` uses ""). */
  readonly pathRoot: string;
  readonly routes: readonly RouteDefinition[];
  /** Settings classes and other tokens the router needs even if no route lists them. */
  readonly dependencies: DependencySpec;
}

export interface RouterOptions {
  requireAuth?: boolean;
  includeInSchema?: boolean;
  pathRoot?: string;
  dependencies?: DependencySpec;
}

/** A typed route; `defineRouter` takes a list of them. */
export function route<D extends DependencySpec = Record<never, never>, B extends Schema | undefined = undefined, Q extends Schema | undefined = undefined, P extends Schema | undefined = undefined>(
  def: RouteDefinition<D, B, Q, P>,
): RouteDefinition {
  return def as unknown as RouteDefinition;
}

export function defineRouter(opts: RouterOptions, routes: readonly RouteDefinition[]): RouterDefinition {
  return {
    [ROUTER]: true,
    requireAuth: opts.requireAuth ?? true,
    includeInSchema: opts.includeInSchema ?? true,
    pathRoot: opts.pathRoot ?? "/api",
    routes,
    dependencies: opts.dependencies ?? {},
  };
}

export function isRouter(value: unknown): value is RouterDefinition {
  return !!value && typeof value === "object" && (value as Partial<RouterDefinition>)[ROUTER] === true;
}

/** Everything the routes of a router depend on, for the start-up check. */
export function routerDependencies(router: RouterDefinition): DependencySpec {
  const spec: Record<string, DependencySpec[string]> = { ...router.dependencies };
  for (const r of router.routes) for (const [k, t] of Object.entries(r.dependencies ?? {})) spec[`${r.name}.${k}`] = t;
  return spec;
}
