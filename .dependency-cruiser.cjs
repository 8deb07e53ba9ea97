// The layering of src/, checked by `npm run check:layers` (and .ci/run). Lowest first:
//   foundation: registry, config, settings, db, locks, schedule (and the shared errors, Redis URL
//               and client factory, Redis keys, table formatting,
//               logging, job logic, resources, sandbox store)
//   engine      → scheduler → ops, http, dev → cli
//   entries:    src/index.ts and src/entries/* (the package's public entries)
// A module may import its own layer and the ones below it, never one above; no import cycles
// at all (type-only imports included). Core tasks (tasks/) and extensions import the package
// only through its public entries, as a third-party extension would.
const FOUNDATION = "^src/(registry|config|settings|db|locks|schedule|logic|resources|sandbox)(/|\\.ts$)|^src/(errors|logging|redis-url|redis-cluster|redis-keys|did-you-mean|format-table)\\.ts$";
const ENTRIES = "^src/(index\\.ts$|entries/)";
const above = (...layers) => `^src/(${layers.join("|")})/|${ENTRIES}`;

/**
 * Known violations, per rule: paths exempted from it while a move is under way. Empty: every
 * violation is gone and the check keeps it so (add an entry only with the issue that removes it).
 */
const KNOWN_VIOLATIONS = {};

const rule = (name, comment, from, to) => ({
  name,
  comment,
  severity: "error",
  from: { path: from, pathNot: KNOWN_VIOLATIONS[name] ?? [] },
  to: { path: to },
});

module.exports = {
  forbidden: [
    { name: "no-cycle", comment: "import cycles (type-only ones too) hide which module owns a decision", severity: "error", from: {}, to: { circular: true } },
    rule("foundation-imports-up", "registry/config/settings/db/locks/schedule are below the engine", FOUNDATION, above("engine", "scheduler", "ops", "http", "dev", "cli")),
    rule("engine-imports-up", "the engine is below the scheduler (pass hooks from wiring)", "^src/engine/", above("scheduler", "ops", "http", "dev", "cli")),
    rule("scheduler-imports-up", "the scheduler is below ops/http/dev", "^src/scheduler/", above("ops", "http", "dev", "cli")),
    rule("ops-imports-cli", "ops, http and dev are below the CLI", "^src/(ops|http|dev)/", `^src/cli/|${ENTRIES}`),
    rule("src-imports-tasks", "the framework does not know the domain tasks", "^src/", "^tasks/"),
    {
      name: "tasks-through-entries",
      comment: "core tasks and extensions use diracx-tasks through its public entries only",
      severity: "error",
      from: { path: "^(tasks|extensions/[^/]+/src)/" },
      to: { path: "^src/", pathNot: ENTRIES },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    doNotFollow: { path: "node_modules" },
    exclude: { path: "node_modules" },
    combinedDependencies: false,
    preserveSymlinks: false,
  },
};
