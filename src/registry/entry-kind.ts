/**
 * What an entry must export. Checked when the entry is loaded, so that a wrong export fails
 * at start-up with its location rather than later where it is used.
 */
export interface EntryKind<T> {
  /** How the expected value is named in messages ("a function", "a class"). */
  readonly description: string;
  accepts(value: unknown): value is T;
}

export type AnyFunction = (...args: never[]) => unknown;
export type AnyClass = abstract new (...args: never[]) => unknown;

function isClass(value: unknown): value is AnyClass {
  return typeof value === "function" && /^class[\s{]/.test(Function.prototype.toString.call(value));
}

/** A plain function (calling a class would throw, so classes are refused). */
export const functionKind: EntryKind<AnyFunction> = {
  description: "a function",
  accepts: (value): value is AnyFunction => typeof value === "function" && !isClass(value),
};

export const classKind: EntryKind<AnyClass> = {
  description: "a class",
  accepts: isClass,
};

/** A zod-like schema (anything with `safeParse`), e.g. the extension's configuration schema. */
export const schemaKind: EntryKind<{ safeParse: (input: unknown) => unknown }> = {
  description: "a schema (an object with safeParse)",
  accepts: (value): value is { safeParse: (input: unknown) => unknown } =>
    typeof value === "object" && value !== null && typeof (value as { safeParse?: unknown }).safeParse === "function",
};

/** Describes what a value actually is, for "expected X, got Y" messages. */
export function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (isClass(value)) return `class ${value.name || "(anonymous)"}`;
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
