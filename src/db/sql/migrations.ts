import { sql, type Kysely } from "kysely";
import { DBConfigurationError } from "../errors.ts";


/**
 * One schema step of a DB. `scope` separates the core's numbering from an
 * extension's (GubbinsJobDB appends `{scope: "gubbins", version: 1}` to JobDB's
 * list), so both can keep adding migrations without colliding.
 */
export interface Migration {
  scope?: string;
  version: number;
  name: string;
  up(db: Kysely<unknown>): Promise<void>;
}

export const MIGRATIONS_TABLE = "diracx_migrations";
const CORE_SCOPE = "diracx";

export interface MigrationResult {
  dbName: string;
  applied: { scope: string; version: number; name: string }[];
}

function scopeOf(m: Migration): string {
  return m.scope ?? CORE_SCOPE;
}

function validate(dbName: string, migrations: readonly Migration[]): void {
  const last = new Map<string, number>();
  for (const m of migrations) {
    const scope = scopeOf(m);
    const prev = last.get(scope);
    if (!Number.isInteger(m.version) || m.version < 1 || (prev !== undefined && m.version <= prev)) {
      throw new DBConfigurationError(
        `${dbName}: migration '${m.name}' (scope ${scope}) has version ${m.version}; versions must be positive integers increasing within a scope`,
      );
    }
    last.set(scope, m.version);
  }
}

/**
 * Applies, in order and in one transaction, the migrations of `dbName` not yet
 * recorded. An advisory lock serialises concurrent `db init` runs so two
 * processes never apply the same step twice.
 */
export async function applyMigrations<DB>(engine: Kysely<DB>, dbName: string, migrations: readonly Migration[]): Promise<MigrationResult> {
  validate(dbName, migrations);
  return engine.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${MIGRATIONS_TABLE}))`.execute(trx);
    await sql`CREATE TABLE IF NOT EXISTS ${sql.table(MIGRATIONS_TABLE)} (
      db_name text NOT NULL,
      scope text NOT NULL,
      version integer NOT NULL,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (db_name, scope, version)
    )`.execute(trx);
    const done = await sql<{ scope: string; version: number }>`SELECT scope, version FROM ${sql.table(MIGRATIONS_TABLE)} WHERE db_name = ${dbName}`.execute(trx);
    const seen = new Set(done.rows.map((r) => `${r.scope}:${r.version}`));
    const applied: MigrationResult["applied"] = [];
    for (const m of migrations) {
      const scope = scopeOf(m);
      if (seen.has(`${scope}:${m.version}`)) continue;
      await m.up(trx as unknown as Kysely<unknown>);
      await sql`INSERT INTO ${sql.table(MIGRATIONS_TABLE)} (db_name, scope, version, name) VALUES (${dbName}, ${scope}, ${m.version}, ${m.name})`.execute(trx);
      applied.push({ scope, version: m.version, name: m.name });
    }
    return { dbName, applied };
  });
}

/**
 * Runs a DDL script statement by statement: PGlite's query path (extended
 * protocol) accepts one statement at a time. Statements end with `;` at a line end.
 */
export async function runScript(db: Kysely<unknown>, script: string): Promise<void> {
  for (const stmt of script.split(/;\s*$/m).map((s) => s.trim()).filter(Boolean)) {
    await sql.raw(stmt).execute(db);
  }
}
