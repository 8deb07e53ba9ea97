import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

/** A parsed entry value: `"<module>:<export>"` or `"<module>"` (imported for its side effects). */
export interface EntryValue {
  readonly module: string;
  readonly exportName: string | undefined;
  /** `./x` or `../x` relative to the declaring package root; otherwise a bare specifier. */
  readonly relative: boolean;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Parses an entry value, returning a reason string when it is malformed. Values hold at most
 * one `:` so that the split is never ambiguous; absolute paths are refused because they tie a
 * package to one machine.
 */
export function parseEntryValue(value: string): EntryValue | string {
  const parts = value.split(":");
  if (parts.length > 2) return `malformed value: expected "<module>:<export>" or "<module>" with a single ':'`;
  const [module = "", exportName] = parts;
  if (module === "" || /\s/.test(module)) return `malformed value: the module part must be a non-empty path or package specifier without spaces`;
  if (path.isAbsolute(module)) return `malformed value: module '${module}' is absolute; use a path relative to the package root ('./…') or a package specifier`;
  if (exportName !== undefined && !IDENTIFIER.test(exportName)) return `malformed value: export '${exportName}' is not a JavaScript identifier`;
  const relative = module.startsWith("./") || module.startsWith("../");
  return { module, exportName, relative };
}

/** Where a module lives once resolved: the URL to import and, for files, its path. */
export interface ResolvedModule {
  readonly url: string;
  readonly file: string;
}

/**
 * Resolves the module part from the declaring package. Relative paths are taken from the
 * package root; bare specifiers are resolved as that package would resolve them. Node 20 only
 * offers the CommonJS resolver for "resolve from another directory", so bare specifiers must
 * be reachable through a `require`/`default` export condition.
 */
export function resolveEntryModule(value: EntryValue, packageRoot: string): ResolvedModule {
  const file = value.relative
    ? compiledCounterpart(path.resolve(packageRoot, value.module), packageRoot)
    : createRequire(path.join(packageRoot, "package.json")).resolve(value.module);
  return { url: pathToFileURL(file).href, file };
}

// Running compiled (this very module is dist/…/*.js), so plain node cannot import TypeScript.
const COMPILED = /\.js$/.test(import.meta.url);

/**
 * Entry values name the sources (`./src/config/schema.ts:ConfigSchema`), in the core's and in
 * extensions' package.json alike. Compiled, `npm run build` put each at `<package>/dist/<same
 * path>.js`; that file is used when it exists. A TypeScript file without one (an extension in
 * development) stays as it is, for a TypeScript loader or Node's type stripping to handle.
 */
function compiledCounterpart(file: string, packageRoot: string): string {
  if (!COMPILED || !/\.[cm]?ts$/.test(file) || file.endsWith(".d.ts")) return file;
  const built = path.join(packageRoot, "dist", path.relative(packageRoot, file)).replace(/([cm]?)ts$/, "$1js");
  return fs.existsSync(built) ? built : file;
}
