#!/usr/bin/env node
// One executable for both ways the package runs:
// - installed (an image, node_modules): the compiled dist/ under plain node;
// - a source checkout (src/ beside this file): the TypeScript sources through tsx, with the
//   "diracx-source" export condition, so extensions importing "diracx-tasks" get the very
//   same source modules (not a second, compiled copy) and no build step is needed.
// DIRACX_TASKS_COMPILED=1 runs dist/ from a checkout (after `npm run build`).
import fs from "node:fs";
import { registerHooks } from "node:module";

const source = new URL("../src/cli/main.ts", import.meta.url);
let mainUrl = new URL("../dist/src/cli/main.js", import.meta.url);
if (process.env.DIRACX_TASKS_COMPILED !== "1" && fs.existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  if (!process.execArgv.includes("--conditions=diracx-source") && !process.env.NODE_OPTIONS?.includes("diracx-source")) {
    registerHooks({ resolve: (specifier, context, next) => next(specifier, { ...context, conditions: [...context.conditions, "diracx-source"] }) });
  }
  mainUrl = source;
} else if (process.execArgv.includes("--conditions=diracx-source") || process.env.NODE_OPTIONS?.includes("diracx-source")) {
  // Compiled, yet asked for the sources (a test runner's NODE_OPTIONS inherited): dist/'s tasks
  // importing "diracx-tasks" would get src/ — a second copy of every class (or TypeScript under
  // plain node). One copy: the compiled one.
  registerHooks({ resolve: (specifier, context, next) => next(specifier, { ...context, conditions: context.conditions.filter((c) => c !== "diracx-source") }) });
}
const { main } = await import(mainUrl.href);
const code = await main(process.argv);
// A command is over when main returns: handles a task left open (its own
// clients, timers) must not keep `call`/`submit` hanging. Exit once stdout
// has been flushed, since pipes are written asynchronously.
process.stdout.write("", () => process.exit(code));
