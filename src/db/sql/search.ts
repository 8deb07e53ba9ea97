import { sql, type QueryExecutorProvider, type RawBuilder } from "kysely";
import { InvalidQueryError } from "../errors.ts";

/** Filter operators of DiracX's search API. */
export type ScalarOperator = "eq" | "neq" | "gt" | "lt" | "like" | "ilike" | "not like" | "regex";
export type VectorOperator = "in" | "not in";
export type SearchValue = string | number | boolean | Date;

export type SearchSpec =
  | { parameter: string; operator: ScalarOperator; value: SearchValue }
  | { parameter: string; operator: VectorOperator; values: readonly SearchValue[] };

export interface SortSpec {
  parameter: string;
  direction: "asc" | "desc";
}

export interface SearchOptions {
  parameters?: readonly string[];
  search?: readonly SearchSpec[];
  sorts?: readonly SortSpec[];
  distinct?: boolean;
  perPage?: number;
  page?: number;
}

export interface SearchResult<Row> {
  total: number;
  rows: Row[];
}

/** The searchable shape of one table: its column names and which of them hold times. */
export interface TableDescription {
  table: string;
  columns: readonly string[];
  dateColumns?: readonly string[];
}

// `YYYY[-MM[-DD[ HH[:MM[:SS]]]]]`: a partial time selects the whole period it names.
const PARTIAL_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[ T](\d{2})(?::(\d{2})(?::(\d{2}))?)?)?)?)?$/;

/** [start, end) in UTC for a partial date string, or undefined if it is not one. */
export function partialDateRange(value: string): [Date, Date] | undefined {
  const m = PARTIAL_DATE.exec(value);
  if (!m) return undefined;
  const parts = m.slice(1).map((p) => (p === undefined ? undefined : Number(p)));
  const [y, mo, d, h, mi, s] = parts as [number, ...(number | undefined)[]];
  const start = new Date(Date.UTC(y, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0));
  const end = new Date(start);
  if (s !== undefined) end.setUTCSeconds(end.getUTCSeconds() + 1);
  else if (mi !== undefined) end.setUTCMinutes(end.getUTCMinutes() + 1);
  else if (h !== undefined) end.setUTCHours(end.getUTCHours() + 1);
  else if (d !== undefined) end.setUTCDate(end.getUTCDate() + 1);
  else if (mo !== undefined) end.setUTCMonth(end.getUTCMonth() + 1);
  else end.setUTCFullYear(end.getUTCFullYear() + 1);
  return [start, end];
}

function checkColumn(desc: TableDescription, name: string): void {
  if (!desc.columns.includes(name)) {
    throw new InvalidQueryError(`unknown column '${name}' for ${desc.table} (known: ${desc.columns.join(", ")})`);
  }
}

function condition(desc: TableDescription, spec: SearchSpec): RawBuilder<unknown> {
  checkColumn(desc, spec.parameter);
  const col = sql.ref(spec.parameter);
  if ("values" in spec) {
    if (spec.values.length === 0) return spec.operator === "in" ? sql`FALSE` : sql`TRUE`;
    const list = sql.join(spec.values.map((v) => sql`${v}`));
    return spec.operator === "in" ? sql`${col} IN (${list})` : sql`${col} NOT IN (${list})`;
  }
  const value = spec.value;
  const range = desc.dateColumns?.includes(spec.parameter) && typeof value === "string" ? partialDateRange(value) : undefined;
  if (range) {
    const [start, end] = range;
    switch (spec.operator) {
      case "eq":
        return sql`(${col} >= ${start} AND ${col} < ${end})`;
      case "neq":
        return sql`(${col} < ${start} OR ${col} >= ${end})`;
      case "gt":
        return sql`${col} >= ${end}`;
      case "lt":
        return sql`${col} < ${start}`;
      default:
        break;
    }
  }
  switch (spec.operator) {
    case "eq":
      return sql`${col} = ${value}`;
    case "neq":
      return sql`${col} <> ${value}`;
    case "gt":
      return sql`${col} > ${value}`;
    case "lt":
      return sql`${col} < ${value}`;
    case "like":
      return sql`${col}::text LIKE ${value}`;
    case "ilike":
      return sql`${col}::text ILIKE ${value}`;
    case "not like":
      return sql`${col}::text NOT LIKE ${value}`;
    case "regex":
      return sql`${col}::text ~ ${value}`;
    default:
      throw new InvalidQueryError(`unknown search operator '${String((spec as { operator: unknown }).operator)}' for ${desc.table}`);
  }
}

export function whereClause(desc: TableDescription, search: readonly SearchSpec[] = []): RawBuilder<unknown> {
  if (search.length === 0) return sql``;
  return sql`WHERE ${sql.join(search.map((s) => condition(desc, s)), sql` AND `)}`;
}

/**
 * DiracX's generic search: filtered, sorted, paged rows plus the total number of
 * matches (counted over the filtered set, not the page).
 */
export async function searchTable<Row>(db: QueryExecutorProvider, desc: TableDescription, opts: SearchOptions = {}): Promise<SearchResult<Row>> {
  const perPage = opts.perPage ?? 100;
  const page = opts.page ?? 1;
  if (!Number.isInteger(perPage) || perPage < 1) throw new InvalidQueryError(`perPage must be an integer ≥ 1 (got ${perPage}) searching ${desc.table}`);
  if (!Number.isInteger(page) || page < 1) throw new InvalidQueryError(`page must be an integer ≥ 1 (got ${page}) searching ${desc.table}`);
  const parameters = opts.parameters?.length ? opts.parameters : desc.columns;
  parameters.forEach((p) => checkColumn(desc, p));
  for (const s of opts.sorts ?? []) checkColumn(desc, s.parameter);
  const where = whereClause(desc, opts.search);
  const cols = sql.join(parameters.map((p) => sql.ref(p)));
  const distinct = opts.distinct ? sql`DISTINCT` : sql``;
  const sorts = opts.sorts ?? [];
  const orderBy = sorts.length
    ? sql`ORDER BY ${sql.join(sorts.map((s) => sql`${sql.ref(s.parameter)} ${s.direction === "desc" ? sql`DESC` : sql`ASC`}`))}`
    : sql``;
  const total = await sql<{ n: number }>`SELECT count(*)::int AS n FROM (SELECT ${distinct} ${cols} FROM ${sql.table(desc.table)} ${where}) AS matched`.execute(db);
  const rows = await sql<Row>`SELECT ${distinct} ${cols} FROM ${sql.table(desc.table)} ${where} ${orderBy} LIMIT ${perPage} OFFSET ${(page - 1) * perPage}`.execute(db);
  return { total: total.rows[0]?.n ?? 0, rows: rows.rows };
}

/** Counts rows grouped by `groupBy`, for the matching rows only. */
export async function summarizeTable(
  db: QueryExecutorProvider,
  desc: TableDescription,
  groupBy: readonly string[],
  search: readonly SearchSpec[] = [],
): Promise<Record<string, unknown>[]> {
  if (groupBy.length === 0) throw new InvalidQueryError(`summary of ${desc.table} needs at least one grouping column`);
  groupBy.forEach((g) => checkColumn(desc, g));
  const cols = sql.join(groupBy.map((g) => sql.ref(g)));
  const res = await sql<Record<string, unknown>>`SELECT ${cols}, count(*)::int AS count FROM ${sql.table(desc.table)} ${whereClause(desc, search)} GROUP BY ${cols} ORDER BY ${cols}`.execute(db);
  return res.rows;
}
