// Dependencies for tasks that must NOT do all their database work in the attempt's single
// transaction: long batch jobs (sandbox cleaning) and tasks whose writes must be committed
// before they spawn children that read them (the dummy job executor monitor).
import { dbUrlFromEnv, type Env, type SQLDBClass } from "./sql/base.ts";
import { getEngine } from "./sql/engine.ts";
import {
  missingDependencies,
  resolveSqlDbClass,
  withUnitOfWork,
  type CustomToken,
  type DependencyContext,
  type DependencySpec,
  type ResolvedDeps,
} from "./unit-of-work.ts";

/** A dependency on a SQL DB used outside the attempt's transaction. */
export interface NoTransactionToken<T> extends CustomToken<T> {
  readonly dbClass: SQLDBClass<T>;
  readonly __resolvesTo?: T;
}

/**
 * `{ sandboxDB: noTransaction(SandboxMetadataDB) }`: the DB (the registry's highest-priority
 * implementation) on its engine, so each statement autocommits and `db.transaction(fn)` opens
 * short transactions of the task's choosing — no lock held for the whole attempt, and the
 * progress of a long run survives a later failure.
 */
export function noTransaction<T>(dbClass: SQLDBClass<T>): NoTransactionToken<T> {
  return Object.freeze({
    dbClass,
    async resolveDependency(ctx: DependencyContext): Promise<T> {
      const cls = (await resolveSqlDbClass(dbClass as SQLDBClass<unknown>, ctx.registry)) as SQLDBClass<T>;
      return new cls(getEngine(dbUrlFromEnv(cls.dbName, ctx.env)));
    },
    missingDependencies(env: Env): string[] {
      return missingDependencies({ db: dbClass as SQLDBClass<unknown> }, undefined as never, env);
    },
  });
}

/** Runs `fn` in a unit of work of its own: committed when `fn` resolves, rolled back when it throws. */
export interface UnitsOfWork<S extends DependencySpec> {
  run<R>(fn: (deps: ResolvedDeps<S>) => Promise<R>): Promise<R>;
}

export interface UnitsOfWorkToken<S extends DependencySpec> extends CustomToken<UnitsOfWork<S>> {
  readonly spec: S;
  readonly __resolvesTo?: UnitsOfWork<S>;
}

/**
 * `{ units: unitsOfWork({ jobDB: JobDB, … }) }`: opens short units of work on demand, with the
 * same registry, configuration and environment as the attempt — so the task commits a step
 * before going on (e.g. before spawning tasks that must see it).
 */
export function unitsOfWork<S extends DependencySpec>(spec: S): UnitsOfWorkToken<S> {
  return Object.freeze({
    spec,
    resolveDependency(ctx: DependencyContext): UnitsOfWork<S> {
      const opts = { registry: ctx.registry, env: ctx.env, ...(ctx.config ? { config: ctx.config } : {}) };
      return { run: (fn) => withUnitOfWork(spec, opts, fn) };
    },
    missingDependencies(env: Env): string[] {
      return missingDependencies(spec, undefined as never, env);
    },
  });
}
