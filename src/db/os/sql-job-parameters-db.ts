// The embedded default of the job parameters store: the same interface and search
// semantics as the OpenSearch JobParametersDB, on PostgreSQL/PGlite. One row per job,
// one typed column per mapped field, and a JSONB `extra` for everything else.
import { sql, type Kysely, type RawBuilder } from "kysely";
import { BaseSQLDB } from "../sql/base.ts";
import { applyMigrations, runScript, type Migration, type MigrationResult } from "../sql/migrations.ts";
import {
  JOB_PARAMETERS_DB_NAME,
  JOB_PARAMETERS_FIELDS,
  jobParametersIndexName,
  stampJobParameters,
  type JobParameters,
  type JobParametersStore,
  type JobParametersUpsert,
} from "./job-parameters.ts";
import {
  coerceValue,
  normaliseDocument,
  planQuery,
  type DocumentValue,
  type FieldType,
  type Paging,
  type PlannedFilter,
  type SearchResult,
  type SearchSpec,
  type SortSpec,
} from "./query.ts";

export const SQL_JOB_PARAMETERS_TABLE = "JobParametersDocuments";

type Field = keyof typeof JOB_PARAMETERS_FIELDS;
const FIELDS = Object.keys(JOB_PARAMETERS_FIELDS) as Field[];
const SQL_TYPES: Record<FieldType, string> = { long: "bigint", date: "timestamptz", keyword: "text", text: "text" };
// Statement size stays well under PostgreSQL's 65535 bind parameters.
const ROWS_PER_STATEMENT = 1000;

function fieldType(f: Field): FieldType {
  return JOB_PARAMETERS_FIELDS[f].type;
}

const migrations: Migration[] = [
  {
    version: 1,
    name: "create the job parameters documents table",
    async up(db: Kysely<unknown>) {
      const columns = FIELDS.filter((f) => f !== "JobID").map((f) => `"${f}" ${SQL_TYPES[fieldType(f)]}`);
      await runScript(
        db,
        `
        CREATE TABLE "${SQL_JOB_PARAMETERS_TABLE}" (
          "JobID" bigint PRIMARY KEY,
          "VO" text NOT NULL,
          ${columns.join(",\n          ")},
          "extra" jsonb NOT NULL DEFAULT '{}'::jsonb
        );
        CREATE INDEX "JobParametersDocumentsVO" ON "${SQL_JOB_PARAMETERS_TABLE}" ("VO");
        CREATE INDEX "JobParametersDocumentsStatus" ON "${SQL_JOB_PARAMETERS_TABLE}" ("Status");
        `,
      );
    },
  },
];

/** Job parameters on SQL (`DIRACX_DB_URL_JOBPARAMETERSDB`), for local runs and tests. */
export class SqlJobParametersDB extends BaseSQLDB<object> implements JobParametersStore {
  static override readonly dbName: string = JOB_PARAMETERS_DB_NAME;
  static override readonly migrations: readonly Migration[] = migrations;
  /** The mapping it stores, shared with the OpenSearch class. */
  static readonly fields = JOB_PARAMETERS_FIELDS;

  /** The OpenSearch index the job would live in (kept for parity; the table holds all VOs). */
  indexName(vo: string, jobId: number): string {
    return jobParametersIndexName(vo, jobId);
  }

  /** Creates the table (the SQL counterpart of the index template); idempotent. */
  async createIndexTemplate(): Promise<void> {
    await this.migrateHere();
  }

  private migrateHere(): Promise<MigrationResult> {
    return applyMigrations(this.db, JOB_PARAMETERS_DB_NAME, (this.constructor as typeof SqlJobParametersDB).migrations);
  }

  async upsert(vo: string, jobId: number, params: JobParameters): Promise<void> {
    await this.bulkUpsert([{ vo, jobId, params }]);
  }

  /**
   * Upserts many documents. Like OpenSearch's partial update, only the fields given
   * are written; unmapped fields are merged into `extra` (not replacing it).
   */
  async bulkUpsert(docs: readonly JobParametersUpsert[]): Promise<void> {
    const now = new Date();
    // Rows that set the same mapped columns share a statement, whose DO UPDATE touches
    // exactly those columns: a field absent from a document is left as it was.
    const groups = new Map<string, Array<{ vo: string; jobId: number; mapped: Map<Field, unknown>; extra: Record<string, unknown> }>>();
    // Several entries for one job merge in order, as successive OpenSearch updates would.
    const last = new Map<number, JobParametersUpsert>();
    for (const d of docs) {
      const prev = last.get(d.jobId);
      last.set(d.jobId, prev ? { vo: d.vo, jobId: d.jobId, params: { ...prev.params, ...d.params } } : d);
    }
    for (const d of last.values()) {
      jobParametersIndexName(d.vo, d.jobId); // validates VO and id like the OpenSearch class
      const stamped = stampJobParameters(d.jobId, d.params, now);
      const mapped = new Map<Field, unknown>();
      const extra: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(stamped)) {
        if (k === "JobID") continue;
        if (Object.hasOwn(JOB_PARAMETERS_FIELDS, k)) {
          const f = k as Field;
          mapped.set(f, v === null ? null : coerceValue(`${JOB_PARAMETERS_DB_NAME}.upsert(job ${d.jobId})`, f, fieldType(f), v));
        } else extra[k] = v instanceof Date ? v.toISOString() : v;
      }
      const key = [...mapped.keys()].sort().join("\u0000");
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push({ vo: d.vo.toLowerCase(), jobId: d.jobId, mapped, extra });
    }
    for (const rows of groups.values()) {
      const cols = [...rows[0]!.mapped.keys()].sort() as Field[];
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
        const values = sql.join(
          chunk.map(
            (r) =>
              sql`(${r.jobId}::bigint, ${r.vo}::text, ${sql.join(
                cols.map((c) => sql`${r.mapped.get(c)}::${sql.raw(SQL_TYPES[fieldType(c)])}`),
              )}, ${JSON.stringify(r.extra)}::jsonb)`,
          ),
        );
        const colList = sql.join([sql.ref("JobID"), sql.ref("VO"), ...cols.map((c) => sql.ref(c)), sql.ref("extra")]);
        const updates = sql.join([
          sql`"VO" = excluded."VO"`,
          ...cols.map((c) => sql`${sql.ref(c)} = excluded.${sql.ref(c)}`),
          sql`"extra" = ${sql.table(SQL_JOB_PARAMETERS_TABLE)}."extra" || excluded."extra"`,
        ]);
        await sql`INSERT INTO ${sql.table(SQL_JOB_PARAMETERS_TABLE)} (${colList}) VALUES ${values}
          ON CONFLICT ("JobID") DO UPDATE SET ${updates}`.execute(this.db);
      }
    }
  }

  async search(
    parameters: readonly string[] | null,
    search: readonly SearchSpec[],
    sorts: readonly SortSpec[],
    paging: Paging = {},
  ): Promise<SearchResult> {
    const where = `${JOB_PARAMETERS_DB_NAME}.search`;
    const plan = planQuery(where, JOB_PARAMETERS_FIELDS, parameters, search, sorts, paging);
    const cond = plan.filters.length ? sql`WHERE ${sql.join(plan.filters.map(condition), sql` AND `)}` : sql``;
    // OpenSearch puts documents missing the sort field last in either direction.
    const orderBy = plan.sorts.length
      ? sql`ORDER BY ${sql.join(plan.sorts.map((s) => sql`${sql.ref(s.parameter)} ${sql.raw(s.direction === "desc" ? "DESC" : "ASC")} NULLS LAST`))}`
      : sql`ORDER BY "JobID"`;
    const table = sql.table(SQL_JOB_PARAMETERS_TABLE);
    const total = await sql<{ n: number | string }>`SELECT count(*) AS n FROM ${table} ${cond}`.execute(this.db);
    const rows = await sql<Record<string, unknown>>`SELECT * FROM ${table} ${cond} ${orderBy} LIMIT ${plan.size} OFFSET ${plan.from}`.execute(this.db);
    const results = rows.rows.map((row) => {
      const { VO: _vo, extra, ...mapped } = row;
      const doc: Record<string, unknown> = { ...(extra as Record<string, unknown>), ...mapped };
      for (const f of FIELDS) if (fieldType(f) === "long" && doc[f] !== null && doc[f] !== undefined) doc[f] = Number(doc[f]);
      const full = normaliseDocument(where, JOB_PARAMETERS_FIELDS, doc);
      if (plan.parameters === null) return full;
      const picked: Record<string, DocumentValue> = {};
      for (const p of plan.parameters) if (Object.hasOwn(full, p)) picked[p] = full[p]!;
      return picked;
    });
    return { total: Number(total.rows[0]?.n ?? 0), results };
  }
}

function condition(f: PlannedFilter): RawBuilder<unknown> {
  const col = sql.ref(f.field);
  const type = sql.raw(SQL_TYPES[f.type]);
  // Negations match documents without the field, as OpenSearch's must_not does.
  switch (f.operator) {
    case "eq":
      return sql`${col} = ${f.value}::${type}`;
    case "neq":
      return sql`${col} IS DISTINCT FROM ${f.value}::${type}`;
    case "gt":
      return sql`${col} > ${f.value}::${type}`;
    case "lt":
      return sql`${col} < ${f.value}::${type}`;
    case "in":
      return f.values.length ? sql`${col} IN (${sql.join(f.values.map((v) => sql`${v}::${type}`))})` : sql`FALSE`;
    case "not in":
      return f.values.length ? sql`(${col} IS NULL OR ${col} NOT IN (${sql.join(f.values.map((v) => sql`${v}::${type}`))}))` : sql`TRUE`;
  }
}
