// `diracx-tasks/db`: databases for code outside task attempts — the unit of work (one
// transaction per database URL; the same dependency tokens tasks declare), engines, migrations,
// and the job parameters stores' internals. HTTP handlers open one unit of work per request and
// settle it by the response status (`settleUnitOfWork`).
export {
  openUnitOfWork,
  settleUnitOfWork,
  tokenFor,
  withUnitOfWork,
  missingDependencies,
  resolveSqlDbClass,
  MissingDependencyError,
  SQL_DB_GROUP,
  type UnitOfWork,
  type UnitOfWorkOptions,
  type DependencySpec,
  type DependencyToken,
  type DependencyContext,
  type CustomToken,
  type SettingsToken,
  type ResolvedDeps,
  type DbRegistry,
  type ConfigProvider,
} from "../db/unit-of-work.ts";
export { getEngine, closeAllEngines, closeEngine, type EngineKind } from "../db/sql/engine.ts";
export { applyMigrations, type MigrationResult } from "../db/sql/migrations.ts";
export { initDatabases, type DbInitResult } from "../db/init.ts";
export type {
  SearchSpec,
  SortSpec,
  SearchOptions,
  SearchResult,
  ScalarOperator,
  VectorOperator,
  SearchValue,
} from "../db/sql/search.ts";
export {
  BaseOSDB,
  OSDBConfigError,
  OSDBUnavailableError,
  osEnvVar,
  osClientOptionsFromEnv,
  type OSDBClass,
  type OSDocument,
  type OSClientOptions,
} from "../db/os/base.ts";
export {
  planQuery,
  type FieldType,
  type FieldMapping,
  type SearchSpec as DocumentSearchSpec,
  type SortSpec as DocumentSortSpec,
  type Paging,
  type DocumentValue,
  type SearchResult as DocumentSearchResult,
} from "../db/os/query.ts";
