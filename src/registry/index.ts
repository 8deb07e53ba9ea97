export { findAppRoot, type AppRootOptions } from "./app-root.ts";
export { discoverPackages, resolvePackageDir } from "./discovery.ts";
export { classKind, functionKind, schemaKind, type AnyClass, type AnyFunction, type EntryKind } from "./entry-kind.ts";
export type { EntryPoint } from "./entry-point.ts";
export { parseEntryValue, type EntryValue } from "./entry-value.ts";
export { EntryPointError, RegistryError, type EntryLocation } from "./errors.ts";
export {
  ACCESS_POLICIES_GROUP,
  CLI_GROUP,
  CLI_HIDDEN_GROUP,
  CORE_GROUP,
  MIN_CLIENT_VERSION_GROUP,
  SERVICES_GROUP,
  LOCK_OBJECT_TYPES_GROUP,
  OS_DBS_GROUP,
  RESOURCES_GROUP,
  SQL_DBS_GROUP,
  TASK_GROUP_PREFIX,
  expectedKind,
  groupInfo,
  isDeclaration,
  isTaskGroup,
  taskCategory,
  type GroupInfo,
} from "./groups.ts";
export { documentedEntries, renderEntryPointsMarkdown, type DocumentedEntry } from "./markdown.ts";
export { getRegistry, loadRegistry, Registry, resetRegistryCache } from "./registry.ts";
export { loadTaskClass, taskEntries, type TaskEntry } from "./tasks.ts";
