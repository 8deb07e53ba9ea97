// Base of the OpenSearch-backed DBs. OpenSearch has no transactions: an OS DB joins a
// unit of work only to be opened and closed with it; its writes are immediate.
import { Client, errors as osErrors, type ClientOptions } from "@opensearch-project/opensearch";
import { DiracxError } from "../../errors.ts";
import { DBConfigurationError, DBUnavailableError } from "../errors.ts";
import {
  normaliseDocument,
  planQuery,
  type DocumentValue,
  type FieldMapping,
  type Paging,
  type PlannedFilter,
  type QueryPlan,
  type SearchResult,
  type SearchSpec,
  type SortSpec,
} from "./query.ts";

export type { ClientOptions as OSClientOptions };

/** `DIRACX_OS_DB_<NAME>` is missing or not a JSON object of client options. */
export class OSDBConfigError extends DBConfigurationError {}
/** The OpenSearch cluster cannot be reached (retryable, like an SQL connection failure). */
export class OSDBUnavailableError extends DBUnavailableError {}

/** A document to index: field → value (dates as `Date`, ISO strings or epoch ms). */
export type OSDocument = Record<string, DocumentValue | boolean | null>;

/** The environment variable holding an OS DB's client options. */
export function osEnvVar(dbName: string): string {
  return `DIRACX_OS_DB_${dbName.toUpperCase()}`;
}

/**
 * Reads `DIRACX_OS_DB_<NAME>`: a JSON object of client options. DiracX (Python)
 * deployments hold AsyncOpenSearch kwargs there (`hosts`, `http_auth`, `use_ssl`,
 * `verify_certs`); those are translated so the same value works for both.
 */
export function osClientOptionsFromEnv(dbName: string, env: NodeJS.ProcessEnv = process.env): ClientOptions | undefined {
  const name = osEnvVar(dbName);
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new OSDBConfigError(`${name} is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new OSDBConfigError(`${name} must be a JSON object of OpenSearch client options, got ${JSON.stringify(parsed)}`);
  }
  return translatePythonOptions(name, parsed as Record<string, unknown>);
}

function translatePythonOptions(name: string, o: Record<string, unknown>): ClientOptions {
  const { hosts, http_auth, use_ssl, verify_certs, ...rest } = o;
  const out: Record<string, unknown> = { ...rest };
  if (hosts !== undefined && out.node === undefined && out.nodes === undefined) {
    const list = Array.isArray(hosts) ? hosts : [hosts];
    out.node = list.map((h) => {
      if (typeof h !== "string") throw new OSDBConfigError(`${name}: 'hosts' entries must be strings, got ${JSON.stringify(h)}`);
      return /^https?:\/\//.test(h) ? h : `${use_ssl ? "https" : "http"}://${h}`;
    });
  }
  if (Array.isArray(http_auth) && out.auth === undefined) {
    const [username, password] = http_auth as unknown[];
    if (typeof username !== "string" || typeof password !== "string") throw new OSDBConfigError(`${name}: 'http_auth' must be [user, password]`);
    out.auth = { username, password };
  }
  if (verify_certs === false) out.ssl = { ...(out.ssl as object | undefined), rejectUnauthorized: false };
  if (out.node === undefined && out.nodes === undefined) throw new OSDBConfigError(`${name}: no 'node' (or 'hosts') given`);
  return out as ClientOptions;
}

/** What each OS DB class declares (statics), so helpers can take the class itself. */
export interface OSDBClass<T extends BaseOSDB = BaseOSDB> {
  new (options: ClientOptions | Client): T;
  readonly dbName: string;
  readonly fields: FieldMapping;
  readonly indexPrefix: string;
}

export abstract class BaseOSDB {
  /** Registry name (entry in `diracx.dbs.os`); the env var is `DIRACX_OS_DB_<NAME upper>`. */
  static readonly dbName: string = "";
  /** The index mapping (OpenSearch field types). */
  static readonly fields: FieldMapping = {};
  /** Every index of this DB starts with it; the template matches `<prefix>*`. */
  static readonly indexPrefix: string = "";

  readonly client: Client;
  private readonly ownsClient: boolean;

  constructor(options: ClientOptions | Client) {
    this.ownsClient = !(options instanceof Client);
    this.client = options instanceof Client ? options : new Client(options);
  }

  /** Opens the DB from `DIRACX_OS_DB_<NAME>`; a missing variable is an error naming it. */
  static fromEnv<T extends BaseOSDB>(this: OSDBClass<T>, env: NodeJS.ProcessEnv = process.env): T {
    const options = osClientOptionsFromEnv(this.dbName, env);
    if (!options) throw new OSDBConfigError(`${osEnvVar(this.dbName)} is not set (needed for ${this.dbName})`);
    return new this(options);
  }

  protected get cls(): OSDBClass {
    return this.constructor as OSDBClass;
  }

  /** The index a document of `vo` with this id belongs to. */
  abstract indexName(vo: string, id: number): string;

  async createIndexTemplate(): Promise<void> {
    const { indexPrefix, fields } = this.cls;
    await this.call("createIndexTemplate", () =>
      this.client.indices.putIndexTemplate({
        name: indexPrefix,
        body: { index_patterns: [`${indexPrefix}*`], template: { mappings: { properties: { ...fields } } } },
      }),
    );
  }

  /** Creates or partially updates document `id` (fields not in `doc` are kept). */
  async upsert(vo: string, id: number, doc: OSDocument): Promise<void> {
    const index = this.indexName(vo, id);
    await this.call("upsert", () =>
      this.client.update({
        index,
        id: String(id),
        // Concurrent partial updates of one job's parameters are normal (pilot + router);
        // retrying on version conflicts makes them merge instead of failing.
        retry_on_conflict: 10,
        body: { doc: serialiseDocument(doc), doc_as_upsert: true },
      }),
    );
  }

  /** Many `upsert`s in one `_bulk` request; any failed item fails the call, naming it. */
  protected async bulkPartialUpdate(items: ReadonlyArray<{ vo: string; id: number; doc: OSDocument }>): Promise<void> {
    if (items.length === 0) return;
    const body = items.flatMap(({ vo, id, doc }) => [
      { update: { _index: this.indexName(vo, id), _id: String(id), retry_on_conflict: 10 } },
      { doc: serialiseDocument(doc), doc_as_upsert: true },
    ]);
    const res = await this.call("bulk upsert", () => this.client.bulk({ body }));
    if (res.body.errors) {
      const failed = res.body.items.map((it) => Object.values(it)[0]).filter((r) => r?.error);
      const first = failed[0];
      throw new DiracxError(
        `${this.cls.dbName}.bulkUpsert: ${failed.length} of ${items.length} documents failed; first: ${first?._index}/${first?._id}: ${JSON.stringify(first?.error)}`,
      );
    }
  }

  /**
   * Searches every index of this DB. `parameters` selects the returned fields (null: all).
   * Only the documented operators are accepted (see `planQuery`).
   */
  async search(
    parameters: readonly string[] | null,
    search: readonly SearchSpec[],
    sorts: readonly SortSpec[],
    paging: Paging = {},
  ): Promise<SearchResult> {
    const { dbName, fields, indexPrefix } = this.cls;
    const plan = planQuery(`${dbName}.search`, fields, parameters, search, sorts, paging);
    const res = await this.call("search", () =>
      this.client.search({
        index: `${indexPrefix}*`,
        body: buildSearchBody(plan),
      }),
    );
    const hits = res.body.hits;
    const total = typeof hits.total === "number" ? hits.total : (hits.total?.value ?? 0);
    return {
      total,
      results: hits.hits.map((h) => normaliseDocument(`${dbName}.search`, fields, (h._source ?? {}) as Record<string, unknown>)),
    };
  }

  async ping(): Promise<void> {
    await this.call("ping", () => this.client.ping());
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }

  /** Connection-level failures become `OSDBUnavailableError` (retryable); others pass through. */
  protected async call<R>(what: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof osErrors.ConnectionError || err instanceof osErrors.TimeoutError || err instanceof osErrors.NoLivingConnectionsError) {
        throw new OSDBUnavailableError(`${this.cls.dbName}.${what}: OpenSearch unavailable: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }
}

function serialiseDocument(doc: OSDocument): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(doc)) out[k] = v instanceof Date ? v.toISOString() : v;
  return out;
}

function dslValue(v: number | Date | string): number | string {
  return v instanceof Date ? v.toISOString() : v;
}

function filterClause(f: PlannedFilter): { clause: Record<string, unknown>; negate: boolean } {
  switch (f.operator) {
    case "eq":
      return { clause: { term: { [f.field]: { value: dslValue(f.value) } } }, negate: false };
    case "neq":
      return { clause: { term: { [f.field]: { value: dslValue(f.value) } } }, negate: true };
    case "gt":
      return { clause: { range: { [f.field]: { gt: dslValue(f.value) } } }, negate: false };
    case "lt":
      return { clause: { range: { [f.field]: { lt: dslValue(f.value) } } }, negate: false };
    case "in":
      return { clause: { terms: { [f.field]: f.values.map(dslValue) } }, negate: false };
    case "not in":
      return { clause: { terms: { [f.field]: f.values.map(dslValue) } }, negate: true };
  }
}

/** The query DSL body for a validated plan (exported for tests of the translation). */
export function buildSearchBody(plan: QueryPlan): Record<string, unknown> {
  const must: Record<string, unknown>[] = [];
  const mustNot: Record<string, unknown>[] = [];
  for (const f of plan.filters) {
    const { clause, negate } = filterClause(f);
    (negate ? mustNot : must).push(clause);
  }
  return {
    query: { bool: { must, must_not: mustNot } },
    sort: plan.sorts.map((s) => ({ [s.parameter]: { order: s.direction } })),
    from: plan.from,
    size: plan.size,
    track_total_hits: true,
    _source: plan.parameters ?? true,
  };
}
