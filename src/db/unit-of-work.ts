import type { ControlledTransaction } from "kysely";
import { DiracxError } from "../errors.ts";
import { logger } from "../logging.ts";
import { isSettingsClass, SettingsError } from "../settings.ts";
import { configuredDbUrl, dbUrlEnvVar, dbUrlFromEnv, dbUrlOf, dbUrlSettings, type Env, type SQLDBClass } from "./sql/base.ts";
import { getEngine } from "./sql/engine.ts";

/** The registry group that lists SQL DB classes. */
export const SQL_DB_GROUP = "diracx.dbs.sql";

/** The part of the Registry (src/registry) a unit of work needs; the real Registry satisfies it. */
export interface DbRegistry {
  candidates(group: string, name: string): readonly { group: string; name: string; package: string; value: string }[];
  load<T>(ep: never): Promise<T>;
}

/** The part of a ConfigSource a unit of work needs. */
export interface ConfigProvider<C = unknown> {
  current(): C;
}

/** What a custom token's `resolveDependency` receives. */
export interface DependencyContext {
  registry: DbRegistry;
  config: ConfigProvider | undefined;
  env: Env;
  /** Called after commit / rollback, for tokens holding resources (e.g. OS DB sessions). */
  onFinish(cb: (outcome: "commit" | "rollback") => Promise<void> | void): void;
  /** The unit's transaction on a URL (opened if needed), for tokens backed by SQL (the embedded JobParametersDB). */
  sqlTransaction(url: string): Promise<ControlledTransaction<unknown>>;
  /** Settings classes already read at wiring (readSettingsOnce); the others are read from `env`. */
  settings?: ReadonlyMap<SettingsToken, unknown> | undefined;
}

/**
 * The one dependency-injection protocol: a token resolves itself with `resolveDependency(ctx)`
 * (through `ctx.registry` where an extension may replace it) and may list what it lacks with
 * `missingDependencies(env)`, checked before anything opens. `Config`, `resource(name)`,
 * `noTransaction(DB)`, `unitsOfWork(spec)` and the OpenSearch DB classes are such tokens; SQL DB
 * classes and settings classes are accepted as they are and adapted by `tokenFor` below. The
 * same tokens serve task attempts, short units of work and HTTP requests.
 */
export interface CustomToken<T = unknown> {
  resolveDependency(ctx: DependencyContext): T | Promise<T>;
  missingDependencies?(env: Env): string[];
}

/** A settings class (`defineSettings`): built from the environment. */
export interface SettingsToken<T = unknown> {
  fromEnv(env?: Env): T;
}

export type DependencyToken = SQLDBClass<unknown> | CustomToken | SettingsToken;
export type DependencySpec = Record<string, DependencyToken>;

/** The instance type each token resolves to. */
export type ResolvedDeps<S extends DependencySpec> = {
  [K in keyof S]: S[K] extends SQLDBClass<infer T>
    ? T
    : S[K] extends CustomToken<infer T>
      ? T
      : S[K] extends SettingsToken<infer T>
        ? T
        : never;
};

export interface UnitOfWork<S extends DependencySpec> {
  deps: ResolvedDeps<S>;
  /** Commits every open transaction (in the order opened). */
  commit(): Promise<void>;
  /** Rolls back every open transaction; never throws for a transaction already gone. */
  rollback(): Promise<void>;
}

export interface UnitOfWorkOptions {
  registry: DbRegistry;
  config?: ConfigProvider;
  env?: Env;
  /** Settings classes read once at wiring (readSettingsOnce), handed to every attempt as they are. */
  settings?: ReadonlyMap<SettingsToken, unknown>;
}

/**
 * Reads, once at wiring, every settings class these specs declare (each task's dependencies):
 * a variable set to a bad value throws here, naming it, so the process stops before it takes
 * work; a required one left unset is left to the attempt that needs it (which fails naming it),
 * so a worker whose tasks never need, e.g., the sandbox store still starts without it.
 */
export function readSettingsOnce(specs: Iterable<DependencySpec>, env: Env): Map<SettingsToken, unknown> {
  const read = new Map<SettingsToken, unknown>();
  for (const spec of specs) {
    for (const dep of Object.values(spec)) {
      // A SQL DB's own setting is its URL (DIRACX_DB_URL_<NAME>).
      const token = isSqlDbToken(dep) ? dbUrlSettings(dep.dbName) : dep;
      if (isCustomToken(token) || !isSettingsClass(token) || read.has(token)) continue;
      try {
        read.set(token, token.fromEnv(env));
      } catch (err) {
        if (!(err instanceof SettingsError && err.unsetOnly)) throw err;
      }
    }
  }
  return read;
}

export class MissingDependencyError extends DiracxError {}

function isSqlDbToken(t: DependencyToken): t is SQLDBClass<unknown> {
  return typeof t === "function" && typeof (t as SQLDBClass).dbName === "string" && Array.isArray((t as SQLDBClass).migrations) && (t as SQLDBClass).dbName !== "";
}
function isCustomToken(t: DependencyToken): t is CustomToken {
  return typeof (t as CustomToken).resolveDependency === "function";
}
function isSettingsToken(t: DependencyToken): t is SettingsToken {
  return typeof (t as SettingsToken).fromEnv === "function";
}

/** A SQL DB as a token: the registry's implementation, in the unit's transaction on its URL. */
function sqlDbToken(token: SQLDBClass<unknown>): CustomToken {
  return {
    async resolveDependency(ctx) {
      const cls = await resolveSqlDbClass(token, ctx.registry);
      // The URL read at wiring (readSettingsOnce) when there was one; else the environment's (or the error naming it).
      const read = ctx.settings?.get(dbUrlSettings(cls.dbName)) as Readonly<Record<string, string | undefined>> | undefined;
      return new cls(await ctx.sqlTransaction((read && dbUrlOf(cls.dbName, read)) ?? dbUrlFromEnv(cls.dbName, ctx.env)));
    },
    missingDependencies(env) {
      return configuredDbUrl(token.dbName, env) ? [] : [`${dbUrlEnvVar(token.dbName)} (for ${token.dbName})`];
    },
  };
}

/** Every kind of dependency as the one protocol (the only place that tells the kinds apart). */
export function tokenFor(key: string, token: DependencyToken): CustomToken {
  if (isCustomToken(token)) return token;
  if (isSqlDbToken(token)) return sqlDbToken(token);
  if (isSettingsToken(token)) return { resolveDependency: (ctx) => (ctx.settings?.has(token) ? ctx.settings.get(token) : token.fromEnv(ctx.env)) };
  throw new MissingDependencyError(`dependency '${key}' is neither a SQL DB class, a settings class nor a token with resolveDependency()`);
}

/**
 * The implementation of a SQL DB to use: the registry's highest-priority entry
 * under the token's name (so core `JobDB` yields an extension's `GubbinsJobDB`),
 * or the token itself when the registry has none.
 */
export async function resolveSqlDbClass(token: SQLDBClass<unknown>, registry: DbRegistry): Promise<SQLDBClass<unknown>> {
  const [best] = registry.candidates(SQL_DB_GROUP, token.dbName);
  if (!best) return token;
  const cls = await registry.load<SQLDBClass<unknown>>(best as never);
  if (typeof cls !== "function" || typeof cls.dbName !== "string") {
    throw new MissingDependencyError(`${best.package}: ${SQL_DB_GROUP} entry '${best.name}' (${best.value}) is not a SQL DB class`);
  }
  return cls;
}

/** What is missing to build these dependencies, e.g. `["DIRACX_DB_URL_JOBDB (for JobDB)"]`. */
export function missingDependencies(spec: DependencySpec, _registry: DbRegistry, env: Env = process.env): string[] {
  const missing: string[] = [];
  for (const [key, token] of Object.entries(spec)) missing.push(...(tokenFor(key, token).missingDependencies?.(env) ?? []));
  return [...new Set(missing)];
}

/**
 * Opens what a task (or any caller) declared: one transaction per database URL —
 * DBs sharing a URL share it, which also keeps a single-connection PGlite engine
 * from waiting on itself — plus settings, config and custom tokens. The caller
 * must end it with `commit()` or `rollback()`.
 */
export async function openUnitOfWork<S extends DependencySpec>(spec: S, opts: UnitOfWorkOptions): Promise<UnitOfWork<S>> {
  const env = opts.env ?? process.env;
  const missing = missingDependencies(spec, opts.registry, env);
  if (missing.length) throw new MissingDependencyError(`missing configuration: ${missing.join(", ")}`);

  const transactions = new Map<string, ControlledTransaction<unknown>>();
  const finishers: ((outcome: "commit" | "rollback") => Promise<void> | void)[] = [];
  let state: "open" | "committed" | "rolledBack" = "open";

  const rollbackAll = async (): Promise<void> => {
    for (const trx of transactions.values()) {
      if (trx.isCommitted || trx.isRolledBack) continue;
      try {
        await trx.rollback().execute();
      } catch (err) {
        // The connection is already gone, so is the transaction: nothing was committed.
        logger.warn({ err: (err as Error).message }, "rollback failed");
      }
    }
  };
  const finish = async (outcome: "commit" | "rollback") => {
    for (const cb of finishers) {
      try {
        await cb(outcome);
      } catch (err) {
        logger.warn({ err: (err as Error).message }, "unit-of-work finisher failed");
      }
    }
  };

  const sqlTransaction = async (url: string): Promise<ControlledTransaction<unknown>> => {
    let trx = transactions.get(url);
    if (!trx) {
      trx = await getEngine(url).startTransaction().execute();
      transactions.set(url, trx);
    }
    return trx;
  };
  const ctx: DependencyContext = { registry: opts.registry, config: opts.config, env, settings: opts.settings, onFinish: (cb) => finishers.push(cb), sqlTransaction };
  const deps: Record<string, unknown> = {};
  try {
    for (const [key, token] of Object.entries(spec)) deps[key] = await tokenFor(key, token).resolveDependency(ctx);
  } catch (err) {
    await rollbackAll();
    await finish("rollback");
    throw err;
  }

  return {
    deps: deps as ResolvedDeps<S>,
    async commit() {
      if (state !== "open") throw new DiracxError(`unit of work already ${state === "committed" ? "committed" : "rolled back"}`);
      const pending = [...transactions.values()];
      try {
        for (const trx of pending) await trx.commit().execute();
      } catch (err) {
        // Without two-phase commit, DBs before the failure stay committed; the rest roll back.
        state = "rolledBack";
        await rollbackAll();
        await finish("rollback");
        throw err;
      }
      state = "committed";
      await finish("commit");
    },
    async rollback() {
      if (state !== "open") return;
      state = "rolledBack";
      await rollbackAll();
      await finish("rollback");
    },
  };
}

/** Runs `fn` in a unit of work: commit when it resolves, roll back when it throws. */
export async function withUnitOfWork<S extends DependencySpec, R>(spec: S, opts: UnitOfWorkOptions, fn: (deps: ResolvedDeps<S>) => Promise<R>): Promise<R> {
  const uow = await openUnitOfWork(spec, opts);
  let result: R;
  try {
    result = await fn(uow.deps);
  } catch (err) {
    await uow.rollback();
    throw err;
  }
  await uow.commit();
  return result;
}

/**
 * Ends a request's unit of work by the response status: committed below 400, rolled back
 * otherwise (a refused or failed request leaves nothing behind). For HTTP handlers that open
 * one unit of work per request with `openUnitOfWork` and resolve the same tokens tasks declare.
 */
export async function settleUnitOfWork(uow: UnitOfWork<DependencySpec>, statusCode: number): Promise<"committed" | "rolledBack"> {
  if (statusCode < 400) {
    await uow.commit();
    return "committed";
  }
  await uow.rollback();
  return "rolledBack";
}
