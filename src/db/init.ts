import { SQL_DBS_GROUP, type Registry } from "../registry/index.ts";
import { configuredDbUrl, dbUrlEnvVar, type Env, type SQLDBClass } from "./sql/base.ts";
import { DBConfigurationError } from "./errors.ts";
import type { MigrationResult } from "./sql/migrations.ts";
import { JobParametersDB } from "./os/job-parameters-db.ts";

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
  const missing = entries.filter((e) => !configuredDbUrl(e.name, env)).map((e) => dbUrlEnvVar(e.name));
  if (missing.length) throw new DBConfigurationError(`no database URL for ${missing.join(", ")}`);
  const results: DbInitResult[] = [];
  for (const ep of entries) {
    const cls = await registry.load<SQLDBClass<unknown>>(ep);
    if (cls.dbName !== ep.name) {
      throw new DBConfigurationError(`${ep.package}: ${SQL_DBS_GROUP} entry '${ep.name}' (${ep.value}) has dbName '${cls.dbName}'; they must match`);
    }
    const result = await (cls as unknown as { migrate(url: string): Promise<MigrationResult> }).migrate(configuredDbUrl(ep.name, env)!);
    results.push({ ...result, className: (cls as { name: string }).name });
  }
  return results;
}

/**
 * Creates the job parameters store's index template (OpenSearch) or table (the SQL-backed
 * store), whichever the environment selects; returns the backend, or undefined when neither
 * DIRACX_OS_DB_JOBPARAMETERSDB nor DIRACX_DB_URL_JOBPARAMETERSDB is set.
 */
export async function initJobParameters(env: Env = process.env): Promise<"opensearch" | "sql" | undefined> {
  const backend = JobParametersDB.selectBackend(env);
  if (!backend) return undefined;
  const store = JobParametersDB.open(env);
  try {
    await store.createIndexTemplate();
  } finally {
    await store.close?.();
  }
  return backend;
}
