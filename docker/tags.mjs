#!/usr/bin/env node
// The image tags, decided here only (docker/build.sh prints and applies them):
//   base image   diracx-tasks-base:YYYY.MM.DD.P   (UTC date of the build, P = 1, 2, … per day)
//   tasks image  diracx-tasks:vX.Y.Z               (the one version of every package)
//   extension    diracx-tasks-gubbins:vX.Y.Z
// Every image also gets :latest. One version for all packages: the core's package.json and every
// extension's under extensions/ must agree, or no tag is made.
//   node docker/tags.mjs [--date YYYY-MM-DD] [--existing "tag tag …"] [--registry host/org]
// prints `base=…`, `tasks=…`, `gubbins=…` lines (shell-readable).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const root = path.resolve(import.meta.dirname, "..");

/** The version every package shares; throws naming the packages that disagree. */
export function releaseVersion(repoRoot = root) {
  const read = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
  const core = read(path.join(repoRoot, "package.json"));
  const extDir = path.join(repoRoot, "extensions");
  const extensions = fs.existsSync(extDir)
    ? fs.readdirSync(extDir).map((e) => path.join(extDir, e, "package.json")).filter((p) => fs.existsSync(p)).map(read)
    : [];
  const differing = extensions.filter((e) => e.version !== core.version).map((e) => `${e.name}@${e.version}`);
  if (differing.length) throw new Error(`one version for all packages: diracx-tasks is ${core.version}, but ${differing.join(", ")}`);
  if (!/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(core.version)) throw new Error(`package.json version ${JSON.stringify(core.version)} is not X.Y.Z`);
  return core.version;
}

/**
 * The dated base-image tag for `date` (UTC): YYYY.MM.DD.P where P is one more than the highest
 * P among `existing` tags of that day (1 for the day's first build).
 */
export function baseTag(date, existing = []) {
  const day = `${date.getUTCFullYear()}.${String(date.getUTCMonth() + 1).padStart(2, "0")}.${String(date.getUTCDate()).padStart(2, "0")}`;
  let patch = 0;
  for (const tag of existing) {
    const m = new RegExp(`^${day.replaceAll(".", "\\.")}\\.(\\d+)$`).exec(tag);
    if (m) patch = Math.max(patch, Number(m[1]));
  }
  return `${day}.${patch + 1}`;
}

export function imageTags({ date = new Date(), existing = [], registry = "", repoRoot = root } = {}) {
  const prefix = registry ? `${registry.replace(/\/+$/, "")}/` : "";
  const version = `v${releaseVersion(repoRoot)}`;
  return {
    base: `${prefix}diracx-tasks-base:${baseTag(date, existing)}`,
    tasks: `${prefix}diracx-tasks:${version}`,
    gubbins: `${prefix}diracx-tasks-gubbins:${version}`,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const known = new Set(["--date", "--existing", "--registry"]);
  for (let i = 0; i < args.length; i += 2) {
    if (!known.has(args[i]) || args[i + 1] === undefined) {
      console.error(`docker/tags.mjs: unknown or incomplete option ${args[i]} (known: ${[...known].join(", ")}, each with a value)`);
      process.exit(2);
    }
  }
  try {
    const dateArg = opt("--date");
    const date = dateArg ? new Date(`${dateArg}T00:00:00Z`) : new Date();
    if (Number.isNaN(date.getTime())) throw new Error(`--date ${dateArg} is not YYYY-MM-DD`);
    const tags = imageTags({ date, existing: (opt("--existing") ?? "").split(/\s+/).filter(Boolean), registry: opt("--registry") ?? "" });
    for (const [k, v] of Object.entries(tags)) console.log(`${k}=${v}`);
  } catch (err) {
    console.error(`docker/tags.mjs: ${err.message}`);
    process.exit(1);
  }
}
