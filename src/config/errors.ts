import type { z } from "zod";
import { DiracxError } from "../errors.ts";

/**
 * The configuration (file, YAML or schema) is unusable. The message is one line naming the
 * file and the path of the first offending key; `problems` holds every problem found.
 */
export class ConfigError extends DiracxError {
  readonly file: string | undefined;
  readonly problems: readonly string[];

  constructor(problems: readonly string[], opts: { file?: string; cause?: unknown } = {}) {
    const where = opts.file ? `invalid configuration ${opts.file}: ` : "invalid configuration: ";
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? "s" : ""})` : "";
    super(where + (problems[0] ?? "unknown problem") + more, { cause: opts.cause });
    this.file = opts.file;
    this.problems = problems;
  }
}

/** `["Registry", "lhcb", "Groups", "lhcb_user"]` → `Registry.lhcb.Groups.lhcb_user`; odd keys are quoted. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else {
      const key = String(part);
      out += /^[\w:-]+$/.test(key) ? (out ? "." : "") + key : `[${JSON.stringify(key)}]`;
    }
  }
  return out || "(top level)";
}

/** One line per problem, each starting with the key path (prefixed by `base`). */
export function formatZodIssues(issues: readonly z.core.$ZodIssue[], base: readonly PropertyKey[] = []): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    switch (issue.code) {
      case "unrecognized_keys":
        for (const key of issue.keys) out.push(`${formatKeyPath([...path, key])}: unknown key`);
        break;
      case "invalid_key":
        out.push(`${formatKeyPath(path)}: invalid key: ${issue.issues.map((i) => clean(i.message)).join("; ")}`);
        break;
      case "invalid_union": {
        // Report the alternative that got furthest instead of zod's bare "Invalid input".
        const best = issue.errors.map((errs) => formatZodIssues(errs, path)).sort((a, b) => a.length - b.length)[0];
        out.push(...(best && best.length ? best : [`${formatKeyPath(path)}: ${clean(issue.message)}`]));
        break;
      }
      case "invalid_type":
        // zod says "expected X, received undefined" for a key that is simply absent.
        if (/received undefined$/.test(issue.message)) {
          out.push(`${formatKeyPath(path)}: missing (expected ${issue.expected})`);
          break;
        }
        out.push(`${formatKeyPath(path)}: ${clean(issue.message)}`);
        break;
      default:
        out.push(`${formatKeyPath(path)}: ${clean(issue.message)}`);
    }
  }
  return out;
}

function clean(message: string): string {
  return message.replace(/^Invalid input: /, "");
}
