import type { ControlledTransaction } from "kysely";
import { BaseOSDB, osClientOptionsFromEnv, osEnvVar } from "./base.ts";
import {
  JOB_PARAMETERS_DB_NAME,
  JOB_PARAMETERS_FIELDS,
  JOB_PARAMETERS_INDEX_PREFIX,
  jobParametersIndexName,
  stampJobParameters,
  type JobParameters,
  type JobParametersStore,
  type JobParametersUpsert,
} from "./job-parameters.ts";
import { SqlJobParametersDB } from "./sql-job-parameters-db.ts";
import { configuredDbUrl, dbUrlEnvVar, type Env } from "../sql/base.ts";
import { getEngine } from "../sql/engine.ts";
import { DBConfigurationError } from "../errors.ts";

// One bulk request stays a few hundred kB even with large documents.
const DOCS_PER_BULK_REQUEST = 1000;

/** The registry group of OpenSearch DB classes. */
export const OS_DB_GROUP = "diracx.dbs.os";

/**
 * What the unit of work hands a custom dependency token (db-sql's `DependencyContext`
 * fits). `sqlTransaction`, when offered, is the unit's transaction for a URL, so the
 * SQL-backed store commits or rolls back with the other DBs on that URL.
 */
export interface JobParametersDependencyContext {
  registry: {
    candidates(group: string, name: string): readonly { group: string; name: string; package: string; value: string }[];
    load<T>(ep: never): Promise<T>;
  };
  env: Env;
  onFinish(cb: (outcome: "commit" | "rollback") => Promise<void> | void): void;
  sqlTransaction?(url: string): Promise<ControlledTransaction<unknown>>;
}

/** Job parameters in OpenSearch (`DIRACX_OS_DB_JOBPARAMETERSDB`). */
export class JobParametersDB extends BaseOSDB implements JobParametersStore {
  static override readonly dbName: string = JOB_PARAMETERS_DB_NAME;
  static override readonly fields = JOB_PARAMETERS_FIELDS;
  static override readonly indexPrefix: string = JOB_PARAMETERS_INDEX_PREFIX;
  /** The embedded default used when no OpenSearch is configured but an SQL URL is. */
  static readonly embeddedImplementation: typeof SqlJobParametersDB = SqlJobParametersDB;

  indexName(vo: string, jobId: number): string {
    return jobParametersIndexName(vo, jobId);
  }

  override async upsert(vo: string, jobId: number, params: JobParameters): Promise<void> {
    // Stored as an ISO string, not epoch ms: both are valid for a `date` field, but the
    // string reads back unambiguously (the upstream search tripped over the integer).
    await super.upsert(vo, jobId, stampJobParameters(jobId, params));
  }

  async bulkUpsert(docs: readonly JobParametersUpsert[]): Promise<void> {
    const now = new Date();
    for (let i = 0; i < docs.length; i += DOCS_PER_BULK_REQUEST) {
      const chunk = docs.slice(i, i + DOCS_PER_BULK_REQUEST);
      await this.bulkPartialUpdate(chunk.map((d) => ({ vo: d.vo, id: d.jobId, doc: stampJobParameters(d.jobId, d.params, now) })));
    }
  }

  async deleteJobs(jobs: readonly { vo: string; jobId: number }[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += DOCS_PER_BULK_REQUEST) {
      await this.bulkDelete(jobs.slice(i, i + DOCS_PER_BULK_REQUEST).map((j) => ({ vo: j.vo, id: j.jobId })));
    }
  }

  /**
   * Which store the environment selects: OpenSearch when `DIRACX_OS_DB_JOBPARAMETERSDB`
   * is set, else the SQL-backed store when `DIRACX_DB_URL_JOBPARAMETERSDB` is, else none.
   */
  static selectBackend(env: Env = process.env): "opensearch" | "sql" | undefined {
    if (env[osEnvVar(this.dbName)]?.trim()) return "opensearch";
    if (configuredDbUrl(this.dbName, env)) return "sql";
    return undefined;
  }

  /** Opens the selected store outside a unit of work (SQL statements autocommit). */
  static open(this: typeof JobParametersDB, env: Env = process.env): JobParametersStore & { close?(): Promise<void> } {
    switch (this.selectBackend(env)) {
      case "opensearch":
        return new this(osClientOptionsFromEnv(this.dbName, env)!);
      case "sql":
        return new this.embeddedImplementation(getEngine(configuredDbUrl(this.dbName, env)!));
      default:
        throw new DBConfigurationError(missingMessage(this.dbName));
    }
  }

  /** For the unit of work: what is missing before a task needing this DB can run. */
  static missingDependencies(this: typeof JobParametersDB, env: Env): string[] {
    return this.selectBackend(env) ? [] : [`${osEnvVar(this.dbName)} or ${dbUrlEnvVar(this.dbName)} (for ${this.dbName})`];
  }

  /**
   * For the unit of work: the highest-priority `diracx.dbs.os` implementation (an
   * extension's subclass wins), opened on the selected backend. An OpenSearch client
   * is closed when the unit ends; the SQL-backed store joins the unit's transaction.
   */
  static async resolveDependency(this: typeof JobParametersDB, ctx: JobParametersDependencyContext): Promise<JobParametersStore> {
    const [best] = ctx.registry.candidates(OS_DB_GROUP, this.dbName);
    const cls = best ? await ctx.registry.load<typeof JobParametersDB>(best as never) : this;
    if (typeof cls !== "function" || typeof cls.selectBackend !== "function") {
      throw new DBConfigurationError(`${best?.package}: ${OS_DB_GROUP} entry '${best?.name}' (${best?.value}) is not a JobParametersDB class`);
    }
    const backend = cls.selectBackend(ctx.env);
    if (backend === "opensearch") {
      const db = new cls(osClientOptionsFromEnv(cls.dbName, ctx.env)!);
      ctx.onFinish(() => db.close());
      return db;
    }
    if (backend === "sql") {
      const url = configuredDbUrl(cls.dbName, ctx.env)!;
      if (ctx.sqlTransaction) return new cls.embeddedImplementation(await ctx.sqlTransaction(url));
      // No shared transaction offered: a transaction of its own, ended with the unit.
      const trx = await getEngine(url).startTransaction().execute();
      ctx.onFinish(async (outcome) => {
        if (outcome === "commit") await trx.commit().execute();
        else await trx.rollback().execute();
      });
      return new cls.embeddedImplementation(trx);
    }
    throw new DBConfigurationError(missingMessage(cls.dbName));
  }
}

function missingMessage(dbName: string): string {
  return `${dbName} is not configured: set ${osEnvVar(dbName)} (OpenSearch client options as JSON) or ${dbUrlEnvVar(dbName)} (SQL URL for the embedded store)`;
}
