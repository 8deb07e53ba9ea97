// Typed access to a task's resolved dependencies, through the unit of work's own typing (which
// knows what each token — SQL DB class, OS DB, settings, Config, resource — resolves to).
import type { DependencySpec, ResolvedDeps } from "./unit-of-work.ts";

export type TaskDeps<C extends { dependencies: DependencySpec }> = ResolvedDeps<C["dependencies"]>;

/** `const { jobDB } = depsOf(MyTask, ctx)` */
export function depsOf<C extends { dependencies: DependencySpec }>(_cls: C, ctx: { readonly deps: unknown }): TaskDeps<C> {
  return ctx.deps as TaskDeps<C>;
}
