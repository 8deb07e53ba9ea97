import { MissingDependencyError, type CustomToken, type DependencyContext } from "../db/unit-of-work.ts";
import type { DiracxConfig } from "./schema.ts";

/**
 * The dependency token for "the current DiracX configuration". A task lists it among its
 * dependencies (`dependencies: { config: Config, jobDB: JobDB }`) and the unit of work
 * resolves it, like every other token, through `resolveDependency`: to `configSource.current()`
 * — a frozen snapshot taken when the unit opens, so one attempt (or request) never sees two
 * configurations.
 *
 * It is one frozen object, compared by identity; `C` only carries the type an extension's
 * tasks expect (`configToken<GubbinsConfig>()` returns the same object, typed).
 */
export interface ConfigToken<C extends DiracxConfig = DiracxConfig> extends CustomToken<C> {
  readonly kind: "diracx.config";
}

export const Config: ConfigToken = Object.freeze({
  kind: "diracx.config" as const,
  resolveDependency(ctx: DependencyContext): DiracxConfig {
    if (!ctx.config) throw new MissingDependencyError("a dependency needs the DiracX configuration but no configuration source was given (DIRACX_CONFIG_BACKEND_URL)");
    return ctx.config.current() as DiracxConfig;
  },
});

/** The `Config` token typed as an extension's configuration. */
export function configToken<C extends DiracxConfig>(): ConfigToken<C> {
  return Config as unknown as ConfigToken<C>;
}

export function isConfigToken(value: unknown): value is ConfigToken {
  return value === Config;
}

/** What a token resolves to, for dependency-spec typing: `ResolvedConfig<typeof Config>` is `DiracxConfig`. */
export type ResolvedConfig<T> = T extends ConfigToken<infer C> ? C : never;
