import { SQL_DBS_GROUP, type Registry } from "../registry/index.ts";
import { dbUrlEnvVar, type Env, type SQLDBClass } from "./sql/base.ts";
import { DBConfigurationError } from "./errors.ts";
import type { MigrationResult } from "./sql/migrations.ts";

export interface DbInitResult extends MigrationResult {
  /** The implementation that was migrated (e.g. GubbinsJobDB for JobDB). */
  className: string;
}

/**
 * Creates or upgrades every active SQL DB of the registry at its URL. All URLs are
 * checked first, so a missing variable stops the run before anything changes.
 */
export async function initDatabases(registry: Registry, opts: { env?: Env; only?: readonly string[] } = {}): Promise<DbInitResult[]> {
  const env = opts.env ?? process.env;
  let entries = registry.active(SQL_DBS_GROUP);
  if (opts.only?.length) {
    const unknown = opts.only.filter((n) => !entries.some((e) => e.name === n));
    if (unknown.length) {
      throw new DBConfigurationError(`unknown database ${unknown.join(", ")} (registered under ${SQL_DBS_GROUP}: ${entries.map((e) => e.name).join(", ") || "none"})`);
    }
    entries = entries.filter((e) => opts.only!.includes(e.name));
  }
  const missing = entries.map((e) => dbUrlEnvVar(e.name)).filter((v) => !env[v]);
  if (missing.length) throw new DBConfigurationError(`no database URL for ${missing.join(", ")}`);
  const results: DbInitResult[] = [];
  for (const ep of entries) {
    const cls = await registry.load<SQLDBClass<unknown>>(ep);
    if (cls.dbName !== ep.name) {
      throw new DBConfigurationError(`${ep.package}: ${SQL_DBS_GROUP} entry '${ep.name}' (${ep.value}) has dbName '${cls.dbName}'; they must match`);
    }
    const result = await (cls as unknown as { migrate(url: string): Promise<MigrationResult> }).migrate(env[dbUrlEnvVar(ep.name)]!);
    results.push({ ...result, className: (cls as { name: string }).name });
  }
  return results;
}
