// Reading job descriptions (JDL): the ClassAd subset DIRAC jobs use — `[ Name = value; … ]`
// with strings, numbers, lists `{ "a", "b" }`, nested ads and bare expressions (kept as text).
// Attribute names are case-insensitive, as in ClassAds.
import { DiracxError } from "../../errors.ts";

export type JdlValue = string | number | JdlValue[] | Jdl;

/** A parsed ClassAd: attributes by lower-cased name, original spelling kept for display. */
export class Jdl {
  private readonly attrs = new Map<string, { name: string; value: JdlValue }>();

  set(name: string, value: JdlValue): void {
    this.attrs.set(name.toLowerCase(), { name, value });
  }
  get(name: string): JdlValue | undefined {
    return this.attrs.get(name.toLowerCase())?.value;
  }
  has(name: string): boolean {
    return this.attrs.has(name.toLowerCase());
  }
  names(): string[] {
    return [...this.attrs.values()].map((a) => a.name);
  }

  /** A scalar as a string (numbers included); undefined when absent or not a scalar. */
  string(name: string): string | undefined {
    const v = this.get(name);
    return typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
  }
  /** A number, also from a numeric string; undefined when absent; NaN when not numeric. */
  number(name: string): number | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    if (typeof v === "number") return v;
    if (typeof v === "string" && v.trim() !== "") return Number(v);
    return Number.NaN;
  }
  /** A list of strings: a list attribute, or a scalar (a comma-separated string is split). */
  list(name: string): string[] {
    const v = this.get(name);
    if (v === undefined) return [];
    const items = Array.isArray(v) ? v : typeof v === "string" ? v.split(",") : [v];
    return items
      .filter((x): x is string | number => typeof x === "string" || typeof x === "number")
      .map((x) => String(x).trim())
      .filter(Boolean);
  }
  /** A nested ad (e.g. `JobRequirements`). */
  ad(name: string): Jdl | undefined {
    const v = this.get(name);
    return v instanceof Jdl ? v : undefined;
  }
}

export class JdlSyntaxError extends DiracxError {}

/** Parses a JDL; the enclosing brackets may be omitted (DiracX adds them on submission). */
export function parseJdl(text: string): Jdl {
  const trimmed = text.trim();
  const src = trimmed.startsWith("[") ? trimmed : `[${trimmed}]`;
  const p = new Parser(src);
  const ad = p.ad();
  p.skipSpace();
  if (!p.atEnd()) p.fail("unexpected text after the closing ']'");
  return ad;
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  atEnd(): boolean {
    return this.i >= this.s.length;
  }
  fail(what: string): never {
    const line = this.s.slice(0, this.i).split("\n").length;
    throw new JdlSyntaxError(`JDL syntax error at line ${line}, offset ${this.i}: ${what}`);
  }
  skipSpace(): void {
    for (;;) {
      while (!this.atEnd() && /\s/.test(this.s[this.i]!)) this.i++;
      // Comments: `//` and `#` to end of line.
      if (this.s.startsWith("//", this.i) || this.s[this.i] === "#") {
        while (!this.atEnd() && this.s[this.i] !== "\n") this.i++;
        continue;
      }
      return;
    }
  }
  private expect(ch: string): void {
    this.skipSpace();
    if (this.s[this.i] !== ch) this.fail(`expected '${ch}'`);
    this.i++;
  }

  ad(): Jdl {
    this.expect("[");
    const ad = new Jdl();
    for (;;) {
      this.skipSpace();
      if (this.s[this.i] === "]") {
        this.i++;
        return ad;
      }
      if (this.s[this.i] === ";") {
        this.i++;
        continue;
      }
      const name = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(this.s.slice(this.i))?.[0];
      if (!name) this.fail("expected an attribute name");
      this.i += name.length;
      this.expect("=");
      ad.set(name, this.value(";]"));
    }
  }

  private value(terminators: string): JdlValue {
    this.skipSpace();
    const c = this.s[this.i];
    if (c === undefined) this.fail("unexpected end of the JDL");
    if (c === '"') return this.str();
    if (c === "[") return this.ad();
    if (c === "{") return this.list();
    // A number or a bare expression, up to the terminator at this nesting level.
    const start = this.i;
    let depth = 0;
    while (!this.atEnd()) {
      const ch = this.s[this.i]!;
      if (ch === '"') {
        this.str();
        continue;
      }
      if (ch === "(" || ch === "{" || ch === "[") depth++;
      else if (ch === ")" || ch === "}" || ch === "]") {
        if (depth === 0) break;
        depth--;
      } else if (depth === 0 && terminators.includes(ch)) break;
      this.i++;
    }
    const raw = this.s.slice(start, this.i).trim();
    if (raw === "") this.fail("expected a value");
    return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw) ? Number(raw) : raw;
  }

  private str(): string {
    this.i++; // opening quote
    let out = "";
    while (!this.atEnd()) {
      const ch = this.s[this.i++]!;
      if (ch === "\\") {
        const next = this.s[this.i++];
        if (next === undefined) break;
        out += next === "n" ? "\n" : next === "t" ? "\t" : next;
      } else if (ch === '"') return out;
      else out += ch;
    }
    this.fail("unterminated string");
  }

  private list(): JdlValue[] {
    this.expect("{");
    const items: JdlValue[] = [];
    this.skipSpace();
    if (this.s[this.i] === "}") {
      this.i++;
      return items;
    }
    for (;;) {
      items.push(this.value(",}"));
      this.skipSpace();
      if (this.s[this.i] === ",") {
        this.i++;
        continue;
      }
      if (this.s[this.i] === "}") {
        this.i++;
        return items;
      }
      this.fail("expected ',' or '}' in a list");
    }
  }
}
