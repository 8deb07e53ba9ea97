import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { defineSettings } from "../settings.ts";
import { RegistryError } from "./errors.ts";

/** `DIRACX_APP_ROOT`: the application's package directory, when it is not the working directory's. */
export class AppRootSettings extends defineSettings("DIRACX_", z.object({ appRoot: z.string().optional() })) {}

export interface AppRootOptions {
  /** Explicit application root (wins over everything). */
  appRoot?: string;
  /** Where to start looking for the nearest package.json (default: process.cwd()). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * The application root is the package whose dependency tree defines the installation:
 * `DIRACX_APP_ROOT` if set, otherwise the nearest directory holding a package.json at or
 * above the working directory. The result is realpath'd so that the same installation
 * reached through a symlink is the same registry.
 */
export function findAppRoot(opts: AppRootOptions = {}): string {
  const env = opts.env ?? process.env;
  const explicit = opts.appRoot ?? (AppRootSettings.fromEnv(env).appRoot || undefined);
  if (explicit !== undefined) {
    const source = opts.appRoot !== undefined ? "appRoot option" : "DIRACX_APP_ROOT";
    const dir = path.resolve(opts.cwd ?? process.cwd(), explicit);
    if (!fs.existsSync(path.join(dir, "package.json"))) {
      throw new RegistryError(`${source}=${explicit}: no package.json in ${dir}`);
    }
    return fs.realpathSync(dir);
  }
  const start = path.resolve(opts.cwd ?? process.cwd());
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return fs.realpathSync(dir);
    if (path.dirname(dir) === dir) break;
  }
  throw new RegistryError(`no package.json found in ${start} or any directory above it (set DIRACX_APP_ROOT to the application's package)`);
}
