import type { DiracxConfig } from "./schema.ts";

/**
 * The dependency token for "the current DiracX configuration". A task lists it among its
 * dependencies (`static dependencies = { config: Config, jobDB: JobDB }`) and
 * `openUnitOfWork` resolves it to `configSource.current()` — a frozen snapshot taken when the
 * attempt starts, so one attempt never sees two configurations.
 *
 * It is a plain frozen object, compared by identity; `C` only carries the type an extension's
 * tasks expect (`configToken<GubbinsConfig>()` returns the same object, typed).
 */
export interface ConfigToken<C extends DiracxConfig = DiracxConfig> {
  readonly kind: "diracx.config";
  /** Type-level only: the configuration type this token resolves to. Never set. */
  readonly __config?: C;
}

export const Config: ConfigToken = Object.freeze({ kind: "diracx.config" as const });

/** The `Config` token typed as an extension's configuration. */
export function configToken<C extends DiracxConfig>(): ConfigToken<C> {
  return Config as ConfigToken<C>;
}

export function isConfigToken(value: unknown): value is ConfigToken {
  return value === Config;
}

/** What a token resolves to, for dependency-spec typing: `ResolvedConfig<typeof Config>` is `DiracxConfig`. */
export type ResolvedConfig<T> = T extends ConfigToken<infer C> ? C : never;
