import type { CustomToken, DependencyContext } from "../db/unit-of-work.ts";
import { DiracxError } from "../errors.ts";

export class ResourceUnavailableError extends DiracxError {}

/** A dependency token resolving to an overridable `diracx.resources` function. */
export interface ResourceToken<F> extends CustomToken<F> {
  readonly resourceName: string;
  /** Type-level only (the engine's dependency typing reads it). */
  readonly __resolvesTo?: F;
}

interface ResourceRegistry {
  resource<F>(name: string): Promise<F>;
}

/**
 * `{ findCompatiblePlatforms: resource<FindCompatiblePlatforms>("find_compatible_platforms") }`
 * in a task's dependencies: the function the registry's active `diracx.resources` entry names,
 * so a deployment with an extension gets the extension's implementation in core tasks too.
 */
export function resource<F>(name: string): ResourceToken<F> {
  return Object.freeze({
    resourceName: name,
    async resolveDependency(ctx: DependencyContext): Promise<F> {
      const registry = ctx.registry as Partial<ResourceRegistry>;
      if (typeof registry.resource !== "function") {
        throw new ResourceUnavailableError(`dependency on diracx.resources '${name}' needs the entry-point registry, but the unit of work was opened without one`);
      }
      return registry.resource<F>(name);
    },
  });
}
