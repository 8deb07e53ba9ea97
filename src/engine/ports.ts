/**
 * What the engine needs from the unit-of-work layer and the tasks
 * configuration, so the worker is wired to the real modules in one place
 * (src/engine/wiring.ts) and tests can wire them explicitly.
 */
import type { DependencySpec, UnitOfWork } from "../db/unit-of-work.ts";
import type { Lock } from "../locks/index.ts";

export type { DependencySpec, ResolvedDeps } from "../db/unit-of-work.ts";

/** Opens one transaction per declared DB for one attempt. */
export type OpenUnitOfWork = (spec: DependencySpec) => Promise<UnitOfWork<DependencySpec>>;

/**
 * Hook the tasks configuration plugs into: the locks an attempt of task `taskId` (and VO) takes,
 * i.e. what its `locks()` declared with the configured limiters added or applied (limits.ts).
 */
export type LimitsResolver = (taskId: string, vo: string | undefined, declared: readonly Lock[]) => readonly Lock[];
