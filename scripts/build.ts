// `npm run build`: compiles a package's TypeScript (tsconfig.build.json) to its dist/ and copies
// the non-TypeScript files the code reads at run time (the lock Lua scripts) beside it.
//   node --import tsx scripts/build.ts            the core package, then every extension with a tsconfig.build.json
//   node --import tsx scripts/build.ts <dir>...   only those packages
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const tsc = path.join(root, "node_modules/typescript/bin/tsc");
const ASSETS = /\.lua$/;

function copyAssets(from: string, to: string): number {
  if (!fs.existsSync(from)) return 0;
  let n = 0;
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    if (entry.isDirectory()) n += copyAssets(src, path.join(to, entry.name));
    else if (ASSETS.test(entry.name)) {
      fs.mkdirSync(to, { recursive: true });
      fs.copyFileSync(src, path.join(to, entry.name));
      n++;
    }
  }
  return n;
}

function build(dir: string): void {
  const config = path.join(dir, "tsconfig.build.json");
  if (!fs.existsSync(config)) throw new Error(`build: no tsconfig.build.json in ${dir}`);
  const dist = path.join(dir, "dist");
  fs.rmSync(dist, { recursive: true, force: true });
  const r = spawnSync(process.execPath, [tsc, "-p", config], { cwd: dir, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`build: tsc failed for ${path.relative(root, config) || config}`);
  const assets = ["src", "tasks"].reduce((n, d) => n + copyAssets(path.join(dir, d), path.join(dist, d)), 0);
  console.log(`built ${path.relative(root, dist) || dist} (${assets} asset${assets === 1 ? "" : "s"} copied)`);
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const extensions = path.join(root, "extensions");
const dirs = wanted.length
  ? wanted.map((d) => path.resolve(d))
  : [root, ...(fs.existsSync(extensions) ? fs.readdirSync(extensions).map((e) => path.join(extensions, e)) : []).filter((d) => fs.existsSync(path.join(d, "tsconfig.build.json")))];
try {
  for (const dir of dirs) build(dir);
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
