import { classKind, functionKind, schemaKind, type EntryKind } from "./entry-kind.ts";

/** Group names the framework itself consumes. */
export const CORE_GROUP = "diracx";
export const RESOURCES_GROUP = "diracx.resources";
export const SQL_DBS_GROUP = "diracx.dbs.sql";
export const OS_DBS_GROUP = "diracx.dbs.os";
export const LOCK_OBJECT_TYPES_GROUP = "diracx.lock_object_types";
export const TASK_GROUP_PREFIX = "diracx.tasks.";
export const BROKER_STARTUP_GROUP = "diracx.broker_startup";
/** The entry in group `diracx` that names an extension; a declaration, not a module. */
export const EXTENSION_ENTRY = "extension";
/** The name core declares for itself under `diracx` → `extension`. */
export const CORE_EXTENSION_NAME = "diracx";

/** What the reference document says about a group, and what its entries must export. */
export interface GroupInfo {
  readonly purpose: string;
  readonly keys: string;
  /** A `diracx.entryPoints` fragment showing a typical declaration. */
  readonly example: Record<string, Record<string, string>>;
  readonly notes: readonly string[];
  /** What every entry of the group must export; undefined: not checked (or a side-effect module). */
  readonly kind?: EntryKind<unknown> | undefined;
}

/** Groups the task system itself reads: documented even before any package declares an entry. */
export const FRAMEWORK_GROUPS: readonly string[] = [CORE_GROUP, RESOURCES_GROUP, SQL_DBS_GROUP, OS_DBS_GROUP, LOCK_OBJECT_TYPES_GROUP, BROKER_STARTUP_GROUP, "diracx.services", "diracx.access_policies", "diracx.min_client_version", "diracx.cli", "diracx.cli.hidden"];

export function isTaskGroup(group: string): boolean {
  return group.startsWith(TASK_GROUP_PREFIX) && group.length > TASK_GROUP_PREFIX.length;
}

export function taskCategory(group: string): string {
  return group.slice(TASK_GROUP_PREFIX.length);
}

/** Entries that declare something rather than name a module; never imported. */
export function isDeclaration(group: string, name: string): boolean {
  return group === CORE_GROUP && name === EXTENSION_ENTRY;
}

const KNOWN: Record<string, GroupInfo> = {
  [CORE_GROUP]: {
    purpose: "Declares which extension a package is and hooks that extend core itself.",
    keys: "`extension`: the extension's name (a declaration, not a module; core declares `diracx`). `config`: the configuration schema (a zod object schema extending core's). `properties_module`: a module whose string exports are extra DIRAC security properties (unknown properties in the configuration are reported).",
    example: { diracx: { extension: "myvo", config: "./dist/config.js:MyVOConfigSchema", properties_module: "./dist/properties.js" } },
    notes: [
      "At most one package besides core may declare `extension`; two extensions refuse to start, naming both.",
      "The extension comes first in every group and core last, so reusing a key overrides core.",
      "The package's `supportedVersion` (a semver range) is checked against the core version at load.",
    ],
  },
  [RESOURCES_GROUP]: {
    purpose: "Overridable functions: core code calls them through the registry, so an extension's implementation replaces core's everywhere.",
    keys: "The function's registry name, e.g. `find_compatible_platforms(jobPlatforms, config)`.",
    example: { [RESOURCES_GROUP]: { find_compatible_platforms: "./dist/platforms.js:findCompatiblePlatforms" } },
    notes: ["The export must be a function with the same signature as core's.", "The replacement does not wrap core's function; import core's from `diracx-tasks` to delegate to it."],
    kind: functionKind,
  },
  [SQL_DBS_GROUP]: {
    purpose: "SQL database classes (kysely), injected into tasks by name.",
    keys: "The database name, e.g. `JobDB`; its URL is read from `DIRACX_DB_URL_<NAME>` (upper case).",
    example: { [SQL_DBS_GROUP]: { JobDB: "./dist/db/job-db.js:MyJobDB", MyDB: "./dist/db/my-db.js:MyDB" } },
    notes: ["An extension overriding a core database should subclass it: every consumer of the core class, core tasks included, receives the extension's."],
    kind: classKind,
  },
  [OS_DBS_GROUP]: {
    purpose: "OpenSearch database classes, injected into tasks by name.",
    keys: "The database name, e.g. `JobParametersDB`; client options are read as JSON from `DIRACX_OS_DB_<NAME>`.",
    example: { [OS_DBS_GROUP]: { JobParametersDB: "./dist/db/job-parameters.js:MyJobParametersDB" } },
    notes: ["Overrides follow the same rule as SQL databases: subclass the core class and reuse its name."],
    kind: classKind,
  },
  [LOCK_OBJECT_TYPES_GROUP]: {
    purpose: "Modules that register lock object types (the scope of a lock: `task`, `job`, `transformation`, …).",
    keys: "Any name; the value is a module imported for its side effect of calling `registerLockObjectType`.",
    example: { [LOCK_OBJECT_TYPES_GROUP]: { my_type: "./dist/lock-types.js" } },
    notes: ["Lock type names are global: registering a name twice is refused, naming both registrations.", "Locks on an unregistered type are refused."],
  },
  [BROKER_STARTUP_GROUP]: {
    purpose: "Hooks run once, by exactly one process, when the broker (Redis) is found new or wiped, before the schedules are re-created.",
    keys: "Any name; the value is a function `(ctx: { redis, logger, epoch }) => Promise<void>`.",
    example: { [BROKER_STARTUP_GROUP]: { reset_my_queue: "./dist/startup.js:resetMyQueue" } },
    notes: ["A failing hook is logged; the others still run.", "Reuse core's name `reset_in_flight_jobs` to replace core's hook."],
    kind: functionKind,
  },
};

export const SERVICES_GROUP = "diracx.services";
export const ACCESS_POLICIES_GROUP = "diracx.access_policies";
export const MIN_CLIENT_VERSION_GROUP = "diracx.min_client_version";
export const CLI_GROUP = "diracx.cli";
export const CLI_HIDDEN_GROUP = "diracx.cli.hidden";

Object.assign(KNOWN, {
  [SERVICES_GROUP]: {
    purpose: "HTTP routers that `diracx-tasks serve` (and `dev`) mount: the core `jobs`, `tasks`, `health` and `.well-known`, plus an extension's own.",
    keys: "The system name: mounted at `/api/<name>` in sorted name order (`.well-known` at the root), the OpenAPI tag, the prefix of every operationId (`<name>_<route>`); `DIRACX_SERVICE_<NAME>_ENABLED=false` disables it.",
    example: { [SERVICES_GROUP]: { myservice: "./dist/routers/my-service.js:router" } },
    notes: [
      "The export is the result of `defineRouter(options, routes)` from `diracx-tasks`; every route of an authenticated router names its access policy or is marked `openAccess`.",
      "An extension's router with a core router's name replaces it; `.well-known` cannot be disabled.",
      "An enabled router whose DB URL, settings or configuration is missing refuses to start, naming the router and the variable.",
    ],
  },
  [ACCESS_POLICIES_GROUP]: {
    purpose: "Access policies guarding the HTTP routes (Rucio-style: allow, deny or undecided).",
    keys: "The policy name a route asks (`WMSAccessPolicy`, `TasksAccessPolicy`, …); the export is an object with `decide(user, request)`.",
    example: { [ACCESS_POLICIES_GROUP]: { WMSAccessPolicy: "./dist/policy.js:MyWMSPolicy" } },
    notes: [
      "Every implementation of a name is asked, extension first and core last; the first allow or deny wins, undecided (`undefined`) falls through, and nobody deciding is a 403.",
      "Unlike upstream DiracX, an extension's policy does not replace core's: it handles its special cases and inherits core's rules for the rest.",
      "A policy that throws answers 500 and is logged; it never allows.",
    ],
  },
  [MIN_CLIENT_VERSION_GROUP]: {
    purpose: "The oldest DiracX client version the HTTP API accepts (header `DiracX-Client-Version`).",
    keys: "Core declares `diracx`; an extension declares any other name, which wins. The export is a PEP 440 version string.",
    example: { [MIN_CLIENT_VERSION_GROUP]: { myvo: "./dist/version.js:MIN_CLIENT_VERSION" } },
    notes: ["Versions are PEP 440 (`0.0.1a1`), not semver.", "An absent header passes; an older or unparsable one is a 400 with DiracX's message."],
  },
  [CLI_GROUP]: {
    purpose: "Additional `diracx-tasks` subcommands.",
    keys: "The command name; the export is a function returning a commander `Command` (or the `Command` itself).",
    example: { [CLI_GROUP]: { mycommand: "./dist/cli/my-command.js:command" } },
    notes: ["A name equal to a core command replaces it."],
  },
  [CLI_HIDDEN_GROUP]: {
    purpose: "`diracx-tasks` subcommands that work but are not listed in `--help`.",
    keys: "As `diracx.cli`.",
    example: { [CLI_HIDDEN_GROUP]: { internal: "./dist/cli/internal.js:command" } },
    notes: [],
  },
  "diracx.cacheable_sources": {
    purpose: "Cached data sources shared by DiracX's HTTP API.",
    keys: "The source name.",
    example: { "diracx.cacheable_sources": { my_status: "./dist/sources.js:MyStatusSource" } },
    notes: ["Reserved for DiracX's Python API; the task system does not read it."],
  },
} satisfies Record<string, GroupInfo>);

const TASKS: GroupInfo = {
  purpose: "Task classes of one category; every `diracx.tasks.<category>` group holds tasks.",
  keys: "The task's class name, which must equal the exported class's `name`; the task id is `<category>:<ClassName>`.",
  example: { "diracx.tasks.mycategory": { MyTask: "./dist/tasks/my-task.js:MyTask" } },
  notes: [
    "An extension replaces a core task by declaring the same category and class name.",
    "Task classes extend the task base classes exported by `diracx-tasks`.",
  ],
  kind: classKind,
};

const CUSTOM: GroupInfo = {
  purpose: "Custom entry point group",
  keys: "Defined by the package that consumes the group.",
  example: {},
  notes: [],
};

/** Every group name the registry has a description for (framework and reserved groups; not the per-category task groups). */
export function knownGroupNames(): string[] {
  return Object.keys(KNOWN);
}

/** The description of a group (task groups share one; unknown groups are "custom"). */
export function groupInfo(group: string): GroupInfo {
  return KNOWN[group] ?? (isTaskGroup(group) ? TASKS : CUSTOM);
}

/** What one entry must export, if the framework knows. */
export function expectedKind(group: string, name: string): EntryKind<unknown> | undefined {
  if (group === CORE_GROUP && name === "config") return schemaKind;
  return groupInfo(group).kind;
}
