import type { Kysely } from "kysely";
import { z } from "zod";
import { defineSettings, type SettingsClass } from "../../settings.ts";
import { DBConfigurationError } from "../errors.ts";
import { getEngine, type SQLEngine } from "./engine.ts";
import { applyMigrations, type Migration, type MigrationResult } from "./migrations.ts";

/** What the registry's `diracx.dbs.sql` entries export: a BaseSQLDB subclass. */
export interface SQLDBClass<T = unknown> {
  new (db: SQLEngine): T;
  readonly dbName: string;
  readonly migrations: readonly Migration[];
}

export type Env = Readonly<Record<string, string | undefined>>;

/** `DIRACX_DB_URL_<NAME>` for a DB name. */
export function dbUrlEnvVar(dbName: string): string {
  return `DIRACX_DB_URL_${dbName.toUpperCase()}`;
}

const DB_URL = /^(postgres(ql)?:\/\/|pglite:\/\/)/i;
const urlSettings = new Map<string, SettingsClass<Record<string, string | undefined>>>();

/**
 * `DIRACX_DB_URL_<NAME>` as a settings class (one per DB name), so a database URL is declared
 * and refused like every other setting: a value that is no postgresql:// or pglite:// URL stops
 * the process naming the variable (never the value: it may hold a password).
 */
export function dbUrlSettings(dbName: string): SettingsClass<Record<string, string | undefined>> {
  // Lower case: the field's snake-case upper form is the DB name upper-cased (`JobDB` → JOBDB).
  const field = dbName.toLowerCase();
  let cls = urlSettings.get(field);
  if (!cls) {
    cls = defineSettings(
      "DIRACX_DB_URL_",
      z.object({ [field]: z.string().trim().refine((v) => v === "" || DB_URL.test(v), "expected a postgresql://…, pglite://memory or pglite://<directory> URL").optional() }),
    );
    Object.defineProperty(cls, "name", { value: `${dbName} URL` });
    urlSettings.set(field, cls);
  }
  return cls;
}

/** The URL of a DB from its settings values (dbUrlSettings), undefined when unset or empty. */
export function dbUrlOf(dbName: string, values: Readonly<Record<string, string | undefined>>): string | undefined {
  return values[dbName.toLowerCase()] || undefined;
}

/** The URL of a DB from the environment, undefined when `DIRACX_DB_URL_<NAME>` is not set (or empty). */
export function configuredDbUrl(dbName: string, env: Env): string | undefined {
  return dbUrlOf(dbName, dbUrlSettings(dbName).fromEnv(env));
}

/** The URL of a DB from the environment; a clear error naming the variable when absent. */
export function dbUrlFromEnv(dbName: string, env: Env = process.env): string {
  const name = dbUrlEnvVar(dbName);
  const url = configuredDbUrl(dbName, env);
  if (!url) throw new DBConfigurationError(`${dbName} has no database URL: set ${name} (postgresql://… or pglite://memory)`);
  return url;
}

/**
 * Base of every SQL DB class. An instance wraps either an engine (each statement
 * autocommits) or a transaction (what a unit of work hands to a task); the methods
 * are the same either way.
 *
 * Subclasses set `static dbName` (the registry name, which also names the URL
 * variable) and `static migrations`. An extension overriding a DB subclasses it,
 * keeps its `dbName` and appends migrations with its own `scope`.
 */
export abstract class BaseSQLDB<Schema extends object> {
  static readonly dbName: string = "";
  static readonly migrations: readonly Migration[] = [];

  /** The engine or transaction, typed with this DB's tables. */
  readonly db: Kysely<Schema>;
  constructor(db: SQLEngine) {
    // One engine serves every DB on its URL; this class gives it its schema.
    this.db = db as Kysely<Schema>;
  }

  /** Opens an instance on the process-wide engine for this DB's URL (statements autocommit). */
  static fromEnv<T>(this: SQLDBClass<T>, env: Env = process.env): T {
    return new this(getEngine(dbUrlFromEnv(this.dbName, env)));
  }

  /** Creates or upgrades this DB's tables at `url`. Safe to repeat. */
  static migrate(this: SQLDBClass, url: string): Promise<MigrationResult> {
    return applyMigrations(getEngine(url), this.dbName, this.migrations);
  }

  /** Runs `fn` in a transaction: the current one if this instance already wraps one. */
  async transaction<R>(fn: (db: this) => Promise<R>): Promise<R> {
    if (this.db.isTransaction) return fn(this);
    const ctor = this.constructor as new (db: SQLEngine) => this;
    return this.db.transaction().execute((trx) => fn(new ctor(trx)));
  }
}
