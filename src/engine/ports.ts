import type { Limits } from "../config/tasks-config.ts";
import type { Lock } from "../locks/index.ts";

/**
 * What the engine needs from the unit-of-work layer and the tasks
 * configuration, as types matching CONTRACTS.md, so the worker is wired to
 * the real modules in one place (src/engine/wiring.ts) and tests can wire
 * them explicitly.
 */
/**
 * Dependency tokens a task declares (DB classes, settings classes, the Config
 * token…): names → tokens, resolved by `openUnitOfWork`.
 */
export type DependencySpec = Record<string, unknown>;

/** What a token resolves to at execution: settings → their instance, classes → an instance, tagged tokens → their value. */
export type ResolvedDependency<T> = T extends { fromEnv(...args: never[]): infer S }
  ? S
  : T extends { readonly __resolvesTo?: infer R }
    ? R
    : T extends abstract new (...args: never[]) => infer I
      ? I
      : unknown;

export type ResolvedDependencies<D> = { [K in keyof D]: ResolvedDependency<D[K]> };

export interface UnitOfWork<D = Record<string, unknown>> {
  deps: D;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** Opens one transaction per declared DB for one attempt. */
export type OpenUnitOfWork = (spec: DependencySpec) => Promise<UnitOfWork>;

/** Hook the tasks configuration plugs into: limits for limiter `lock` of task `taskId` (and VO). */
export type LimitsResolver = (taskId: string, vo: string | undefined, lock: Lock) => Limits | undefined;
