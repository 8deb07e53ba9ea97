import fs from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import {
  Kysely,
  PostgresDialect,
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from "kysely";
import { PGliteDialect } from "kysely-pglite-dialect";
import pg from "pg";
import { logger } from "../../logging.ts";
import { DBConfigurationError, classifyDbError } from "../errors.ts";
import { claimPgliteDir, releasePgliteDir } from "./pglite-lock.ts";

/**
 * An engine or a transaction of whatever schema, as a DB class is handed one (it narrows it to
 * `Kysely<Schema>`). Only the members whose types do not depend on the schema, so a
 * `Kysely<S>` or `Transaction<S>` of any `S` is one, and `` sql`…`.execute(handle) `` works.
 */
export type SQLEngine = Pick<Kysely<unknown>, "isTransaction" | "getExecutor">;

export type EngineKind = "postgres" | "pglite";

/** Per-pool limits: enough for a worker's concurrency without exhausting the server's connection slots. */
const PG_POOL = { max: 10, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 } as const;

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** The URL without credentials, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

export function engineKind(url: string): EngineKind {
  if (/^postgres(ql)?:\/\//i.test(url)) return "postgres";
  if (/^pglite:\/\//i.test(url)) return "pglite";
  throw new DBConfigurationError(`unsupported database URL '${redactUrl(url)}': expected postgresql://…, pglite://memory or pglite://<directory>`);
}

/**
 * `pglite://memory` → undefined (in memory); `pglite:///abs` or `pglite://./rel` → a
 * directory. A `#fragment` is ignored here but keeps engines apart (the cache is per
 * URL), so `pglite://memory#a` and `pglite://memory#b` are two separate databases.
 */
export function pgliteDataDir(url: string): string | undefined {
  const rest = url.replace(/^pglite:\/\//i, "").replace(/#.*$/, "");
  if (rest === "" || rest === "memory" || rest === "memory/") return undefined;
  return path.resolve(rest);
}

/**
 * Wraps a dialect so every driver failure becomes DBUnavailableError or DBQueryError;
 * callers then retry the first kind without knowing which engine runs underneath.
 */
class ClassifyingDialect implements Dialect {
  /** Kept so closing an engine closes its connections while instances still holding it get DBUnavailableError. */
  driver: Driver | undefined;
  constructor(
    private readonly inner: Dialect,
    private readonly where: string,
  ) {}
  createAdapter() {
    return this.inner.createAdapter();
  }
  createQueryCompiler() {
    return this.inner.createQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>) {
    return this.inner.createIntrospector(db);
  }
  createDriver(): Driver {
    this.driver = new ClassifyingDriver(this.inner.createDriver(), this.where);
    return this.driver;
  }
}

class ClassifyingConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly where: string,
  ) {}
  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return await this.inner.executeQuery<R>(query);
    } catch (err) {
      throw classifyDbError(err, this.where);
    }
  }
  streamQuery<R>(query: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

class ClassifyingDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly where: string,
  ) {}
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw classifyDbError(err, this.where);
    }
  }
  private unwrap(conn: DatabaseConnection): DatabaseConnection {
    return conn instanceof ClassifyingConnection ? conn.inner : conn;
  }
  init() {
    return this.guard(() => this.inner.init());
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    return new ClassifyingConnection(await this.guard(() => this.inner.acquireConnection()), this.where);
  }
  beginTransaction(conn: DatabaseConnection, settings: TransactionSettings) {
    return this.guard(() => this.inner.beginTransaction(this.unwrap(conn), settings));
  }
  commitTransaction(conn: DatabaseConnection) {
    return this.guard(() => this.inner.commitTransaction(this.unwrap(conn)));
  }
  rollbackTransaction(conn: DatabaseConnection) {
    return this.guard(() => this.inner.rollbackTransaction(this.unwrap(conn)));
  }
  releaseConnection(conn: DatabaseConnection) {
    return this.inner.releaseConnection(this.unwrap(conn));
  }
  destroy() {
    return this.inner.destroy();
  }
}

function postgresDialect(url: string, where: string): Dialect {
  const pool = new pg.Pool({
    connectionString: url,
    ...PG_POOL,
    // Same JS types on both engines: PGlite already returns numbers for int8/numeric-free
    // columns, pg returns strings; our ids and counts fit in a double.
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") => {
        if (oid === INT8_OID || oid === NUMERIC_OID) return (v: string) => (v === null ? null : Number(v));
        return pg.types.getTypeParser(oid, format ?? "text");
      }) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on("error", (err) => logger.warn({ err: err.message, db: where }, "idle database connection lost"));
  // A checked-out client (a task's transaction) losing its server emits 'error' with no pool
  // listener attached: unhandled, it killed the worker process (found by `npm run chaos --
  // postgres-outage`). Its pending query rejects with the same error, so the attempt fails and
  // is retried; this listener only keeps the process alive.
  pool.on("connect", (client) => client.on("error", () => {}));
  return new PostgresDialect({ pool });
}

function pgliteDialect(url: string): Dialect {
  const dir = pgliteDataDir(url);
  if (dir) fs.mkdirSync(dir, { recursive: true });
  if (dir) claimPgliteDir(dir); // one process per directory: a second one is refused with one line
  const db = new PGlite(dir, { parsers: { [NUMERIC_OID]: (v: string) => Number(v) } });
  // The dialect serialises use of the single PGlite connection, so a transaction
  // holds it until commit/rollback and other work queues behind it.
  return new PGliteDialect(db);
}

const engines = new Map<string, { kysely: Kysely<unknown>; dialect: ClassifyingDialect; dir?: string | undefined }>();

/**
 * The process-wide engine for a URL (created on first use, reused afterwards). One engine serves
 * every DB class on that URL, so its table types are the caller's: `getEngine<JobDBSchema>(url)`,
 * or none (`Kysely<unknown>`) for raw `sql` and for handing it to a DB class.
 */
export function getEngine<DB = unknown>(url: string): Kysely<DB> {
  let engine = engines.get(url);
  if (!engine) {
    const where = redactUrl(url);
    const inner = engineKind(url) === "postgres" ? postgresDialect(url, where) : pgliteDialect(url);
    const dialect = new ClassifyingDialect(inner, where);
    engine = { kysely: new Kysely<unknown>({ dialect }), dialect, dir: engineKind(url) === "pglite" ? pgliteDataDir(url) : undefined };
    engines.set(url, engine);
  }
  return engine.kysely as Kysely<DB>;
}

// Only the driver is destroyed, not the Kysely instance: a DB object still holding
// the engine then fails with DBUnavailableError rather than Kysely's own error.
async function close(engine: { dialect: ClassifyingDialect; dir?: string | undefined }): Promise<void> {
  await engine.dialect.driver?.destroy();
  if (engine.dir) releasePgliteDir(engine.dir);
}

/** Closes every engine this process opened (pools, embedded databases). */
export async function closeAllEngines(): Promise<void> {
  const all = [...engines.values()];
  engines.clear();
  await Promise.allSettled(all.map(close));
}

/** Closes the engine for one URL, if open. */
export async function closeEngine(url: string): Promise<void> {
  const e = engines.get(url);
  engines.delete(url);
  if (e) await close(e);
}
