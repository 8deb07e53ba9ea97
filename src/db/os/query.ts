// The search language of the document DBs (OpenSearch and its SQL-backed stand-in).
// Both implementations validate a query here first, so they accept and refuse exactly
// the same things and only differ in how they translate the validated plan.
import { InvalidQueryError } from "../errors.ts";

export { InvalidQueryError };

/** Field types of a document mapping (the subset of OpenSearch types DiracX uses). */
export type FieldType = "long" | "date" | "keyword" | "text";
export type FieldMapping = Readonly<Record<string, { readonly type: FieldType }>>;

export type ScalarOperator = "eq" | "neq" | "gt" | "lt";
export type VectorOperator = "in" | "not in";
export type ScalarValue = string | number | Date;

export type ScalarSearchSpec = { parameter: string; operator: ScalarOperator; value: ScalarValue };
export type VectorSearchSpec = { parameter: string; operator: VectorOperator; values: readonly ScalarValue[] };
export type SearchSpec = ScalarSearchSpec | VectorSearchSpec;
export type SortSpec = { parameter: string; direction: "asc" | "desc" };
export type Paging = { perPage?: number; page?: number };

/** A document as returned by a search: date fields are `Date`s, long fields numbers. */
export type DocumentValue = string | number | Date;
export type SearchResult = { total: number; results: Array<Record<string, DocumentValue>> };

export const DEFAULT_PER_PAGE = 100;

/** A validated filter: values already converted to the field's type. */
export type PlannedFilter =
  | { field: string; type: FieldType; operator: ScalarOperator; value: number | Date | string }
  | { field: string; type: FieldType; operator: VectorOperator; values: Array<number | Date | string> };

export type QueryPlan = {
  /** Fields to return; null means all. */
  parameters: string[] | null;
  filters: PlannedFilter[];
  sorts: SortSpec[];
  from: number;
  size: number;
};

// Which operators each field type supports. Text fields are analysed, so exact and
// range comparisons on them are meaningless; only keyword/long/date are filterable.
const SCALAR_OPS: Record<ScalarOperator, readonly FieldType[]> = {
  eq: ["keyword", "long", "date"],
  neq: ["keyword", "long", "date"],
  gt: ["long", "date"],
  lt: ["long", "date"],
};
const VECTOR_OPS: Record<VectorOperator, readonly FieldType[]> = {
  in: ["keyword", "long", "date"],
  "not in": ["keyword", "long", "date"],
};
const SORTABLE: readonly FieldType[] = ["keyword", "long", "date"];

function fieldOf(where: string, fields: FieldMapping, parameter: string): FieldType {
  const f = Object.hasOwn(fields, parameter) ? fields[parameter] : undefined;
  if (!f) throw new InvalidQueryError(`${where}: unknown field '${parameter}' (known: ${Object.keys(fields).join(", ")})`);
  return f.type;
}

/** Converts a value to a field's type, refusing what OpenSearch would refuse. */
export function coerceValue(where: string, field: string, type: FieldType, value: unknown): number | Date | string {
  switch (type) {
    case "long": {
      const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
      if (!Number.isFinite(n)) throw new InvalidQueryError(`${where}: field '${field}' is a long, got ${JSON.stringify(value)}`);
      // OpenSearch truncates fractional values of long fields; do the same.
      return Math.trunc(n);
    }
    case "date":
      return toDate(where, field, value);
    case "keyword":
    case "text":
      if (typeof value === "string") return value;
      if (typeof value === "number" || typeof value === "boolean") return String(value);
      throw new InvalidQueryError(`${where}: field '${field}' is a ${type}, got ${JSON.stringify(value)}`);
  }
}

/**
 * Dates arrive as `Date`, ISO-8601 strings or epoch milliseconds (what the upstream
 * JobParametersDB stores in `timestamp`); all of them mean an instant.
 */
export function toDate(where: string, field: string, value: unknown): Date {
  let d: Date | undefined;
  if (value instanceof Date) d = new Date(value.getTime());
  else if (typeof value === "number") d = new Date(value);
  else if (typeof value === "string") {
    // Digits only = epoch milliseconds, as OpenSearch's default date format reads them.
    d = /^-?\d+$/.test(value) ? new Date(Number(value)) : new Date(value);
    // A string without a zone would be read in the local zone: refuse the ambiguity.
    if (!/^-?\d+$/.test(value) && !/(Z|[+-]\d\d:?\d\d)$/i.test(value) && /T|\d:\d/.test(value)) {
      throw new InvalidQueryError(`${where}: field '${field}' needs a time zone in ${JSON.stringify(value)}`);
    }
  }
  if (!d || Number.isNaN(d.getTime())) throw new InvalidQueryError(`${where}: field '${field}' is a date, got ${JSON.stringify(value)}`);
  return d;
}

/** Validates a search against a mapping and returns the plan both back ends translate. */
export function planQuery(
  where: string,
  fields: FieldMapping,
  parameters: readonly string[] | null,
  search: readonly SearchSpec[],
  sorts: readonly SortSpec[],
  paging: Paging = {},
): QueryPlan {
  // Unmapped names are allowed here: a document may carry fields outside the mapping.
  if (parameters !== null && (parameters.length === 0 || parameters.some((p) => typeof p !== "string" || p === ""))) {
    throw new InvalidQueryError(`${where}: 'parameters' must be null (all fields) or a non-empty list of field names`);
  }
  const perPage = paging.perPage ?? DEFAULT_PER_PAGE;
  const page = paging.page ?? 1;
  if (!Number.isInteger(perPage) || perPage < 1) throw new InvalidQueryError(`${where}: perPage must be an integer ≥ 1, got ${perPage}`);
  if (!Number.isInteger(page) || page < 1) throw new InvalidQueryError(`${where}: page must be an integer ≥ 1, got ${page}`);

  const filters = search.map((spec): PlannedFilter => {
    const type = fieldOf(where, fields, spec.parameter);
    const op: string = spec.operator;
    if (Object.hasOwn(SCALAR_OPS, op)) {
      const operator = op as ScalarOperator;
      if (!SCALAR_OPS[operator].includes(type)) {
        throw new InvalidQueryError(`${where}: operator '${op}' is not supported on ${type} field '${spec.parameter}'`);
      }
      if (!("value" in spec)) throw new InvalidQueryError(`${where}: operator '${op}' on '${spec.parameter}' needs a 'value'`);
      return { field: spec.parameter, type, operator, value: coerceValue(where, spec.parameter, type, spec.value) };
    }
    if (Object.hasOwn(VECTOR_OPS, op)) {
      const operator = op as VectorOperator;
      if (!VECTOR_OPS[operator].includes(type)) {
        throw new InvalidQueryError(`${where}: operator '${op}' is not supported on ${type} field '${spec.parameter}'`);
      }
      if (!("values" in spec) || !Array.isArray(spec.values)) {
        throw new InvalidQueryError(`${where}: operator '${op}' on '${spec.parameter}' needs a 'values' list`);
      }
      return { field: spec.parameter, type, operator, values: spec.values.map((v) => coerceValue(where, spec.parameter, type, v)) };
    }
    throw new InvalidQueryError(
      `${where}: unknown operator '${op}' on '${spec.parameter}' (supported: ${[...Object.keys(SCALAR_OPS), ...Object.keys(VECTOR_OPS)].join(", ")})`,
    );
  });

  for (const s of sorts) {
    const type = fieldOf(where, fields, s.parameter);
    if (!SORTABLE.includes(type)) throw new InvalidQueryError(`${where}: cannot sort on ${type} field '${s.parameter}'`);
    if (s.direction !== "asc" && s.direction !== "desc") {
      throw new InvalidQueryError(`${where}: sort direction of '${s.parameter}' must be 'asc' or 'desc', got '${String(s.direction)}'`);
    }
  }
  return { parameters: parameters === null ? null : [...parameters], filters, sorts: [...sorts], from: (page - 1) * perPage, size: perPage };
}

/** Normalises a stored document for callers: date fields become `Date`s whatever their stored form. */
export function normaliseDocument(where: string, fields: FieldMapping, source: Record<string, unknown>): Record<string, DocumentValue> {
  const out: Record<string, DocumentValue> = {};
  for (const [k, v] of Object.entries(source)) {
    if (v === null || v === undefined) continue;
    const type = Object.hasOwn(fields, k) ? fields[k]?.type : undefined;
    // OpenSearch reads a zone-less stored date as UTC; so do we when reading back.
    if (type === "date") out[k] = toDate(where, k, typeof v === "string" && !/(Z|[+-]\d\d:?\d\d)$/i.test(v) && /T|\d:\d/.test(v) ? `${v}Z` : v);
    else if (typeof v === "string" || typeof v === "number" || v instanceof Date) out[k] = v;
    else out[k] = JSON.stringify(v);
  }
  return out;
}
