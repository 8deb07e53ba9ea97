// Running core (and gubbins) tasks for real in tests: a registry loaded from an app root, every
// SQL DB created at one database URL, the engine's attempt runner with the real unit of work.
import path from "node:path";
import { randomUUID } from "node:crypto";
import pino from "pino";
import { ConfigSchema, type DiracxConfig } from "../../src/config/schema.ts";
import { compressJdl } from "../../src/db/sql/job-db.ts";
import { JobDB } from "../../src/db/sql/job-db.ts";
import { JobLoggingDB } from "../../src/db/sql/job-logging-db.ts";
import { closeAllEngines } from "../../src/db/sql/engine.ts";
import { SqlJobParametersDB } from "../../src/db/os/sql-job-parameters-db.ts";
import { initDatabases } from "../../src/db/init.ts";
import { openUnitOfWork, type DependencySpec } from "../../src/db/unit-of-work.ts";
import { withProducer } from "../../src/engine/context.ts";
import { runAttempt, type AttemptOutcome } from "../../src/engine/execution.ts";
import type { OpenUnitOfWork } from "../../src/engine/ports.ts";
import type { SubmitOptions } from "../../src/engine/producer-types.ts";
import type { TaskSubmitter } from "../../src/engine/task.ts";
import { TaskRegistry } from "../../src/engine/task-registry.ts";
import type { TaskClass } from "../../src/engine/task.ts";
import type { LockManager } from "../../src/locks/index.ts";
import { loadLockObjectTypes } from "../../src/locks/object-types.ts";
import { SQL_DBS_GROUP, loadRegistry, type Registry } from "../../src/registry/index.ts";
import { createTestDatabase } from "../support/postgres.ts";

export const CORE_ROOT = path.resolve(import.meta.dirname, "../..");
export const GUBBINS_ROOT = path.join(CORE_ROOT, "extensions/gubbins");

export type BackendName = "postgresql" | "pglite";
let pgliteCounter = 0;

export const TEST_CONFIG: DiracxConfig = ConfigSchema.parse({
  Registry: {
    lhcb: {
      Groups: {
        lhcb_user: { Properties: ["NormalUser"], JobShare: 1000 },
        lhcb_prod: { Properties: ["NormalUser", "JobSharing"], JobShare: 4000 },
      },
    },
    gridpp: { Groups: { gridpp_user: { Properties: ["NormalUser"] } } },
  },
  Operations: { Defaults: { JobDescription: { MaxInputData: 3 } } },
  Resources: {
    Computing: {
      OSCompatibility: {
        "x86_64-el9": ["el9", "el8"],
        "x86_64-el8": ["el8"],
        slc7: ["slc7", "centos7"],
      },
    },
  },
});

/** A task captured instead of queued (in-process runs). */
export interface Spawned {
  cls: TaskClass;
  args: Record<string, unknown>;
  opts: SubmitOptions;
}

export class CapturingSubmitter implements TaskSubmitter {
  readonly spawned: Spawned[] = [];
  async submitInstance(task: object, opts: SubmitOptions = {}): Promise<string> {
    this.spawned.push({ cls: task.constructor as TaskClass, args: (task as { args: Record<string, unknown> }).args, opts });
    return randomUUID();
  }
}

export interface TaskEnv {
  backend: BackendName;
  url: string;
  env: Record<string, string>;
  registry: Registry;
  tasks: TaskRegistry;
  config: DiracxConfig;
  openUow: OpenUnitOfWork;
  /** One attempt of a registered task, in-process, with real dependencies. */
  run(id: string, args?: Record<string, unknown>, opts?: { submitter?: TaskSubmitter; lockManager?: LockManager }): Promise<AttemptOutcome>;
  /** `run` that must complete; returns the task's value. */
  runOk<T = unknown>(id: string, args?: Record<string, unknown>, opts?: { submitter?: TaskSubmitter; lockManager?: LockManager }): Promise<T>;
  /** Core DBs on the engine (statements autocommit), for arranging and asserting. */
  jobDB(): JobDB;
  jobLoggingDB(): JobLoggingDB;
  close(): Promise<void>;
}

const quiet = pino({ level: "silent" });

export async function setupTaskEnv(opts: { backend: BackendName; appRoot?: string; extraEnv?: Record<string, string>; config?: DiracxConfig }): Promise<TaskEnv> {
  const url = opts.backend === "postgresql" ? await createTestDatabase("tasks") : `pglite://memory#tasks-${++pgliteCounter}`;
  const registry = await loadRegistry({ appRoot: opts.appRoot ?? CORE_ROOT });
  await loadLockObjectTypes(registry);
  const env: Record<string, string> = { ...opts.extraEnv, DIRACX_DB_URL_JOBPARAMETERSDB: url };
  for (const ep of registry.active(SQL_DBS_GROUP)) env[`DIRACX_DB_URL_${ep.name.toUpperCase()}`] = url;
  await initDatabases(registry, { env });
  await SqlJobParametersDB.migrate(url);
  const tasks = await TaskRegistry.load(registry);
  const config = opts.config ?? TEST_CONFIG;
  const openUow: OpenUnitOfWork = (spec) =>
    openUnitOfWork(spec as DependencySpec, { registry, env, config: { current: () => config } }) as unknown as ReturnType<OpenUnitOfWork>;

  const run: TaskEnv["run"] = (id, args = {}, o = {}) => {
    const submitter = o.submitter ?? new CapturingSubmitter();
    // task.schedule() inside the task reaches this run's submitter, as a worker's producer.
    return withProducer(submitter, () =>
      runAttempt({
        id,
        cls: tasks.get(id),
        args,
        taskId: randomUUID(),
        attempt: 1,
        logger: () => quiet,
        submitter,
        openUnitOfWork: openUow,
        lockManager: o.lockManager,
        lockOwner: "test",
        lockTtlMs: 30_000,
        skipLimiters: true,
      }),
    );
  };
  const runOk = async <T>(id: string, args: Record<string, unknown> = {}, o: { submitter?: TaskSubmitter; lockManager?: LockManager } = {}): Promise<T> => {
    const outcome = await run(id, args, o);
    if (outcome.kind !== "completed") {
      const detail = outcome.kind === "failed" ? String((outcome.error as Error)?.stack ?? outcome.error) : outcome.kind;
      throw new Error(`task ${id} did not complete: ${detail}`);
    }
    return outcome.value as T;
  };
  return {
    backend: opts.backend,
    url,
    env,
    registry,
    tasks,
    config,
    openUow,
    run,
    runOk,
    jobDB: () => JobDB.fromEnv(env),
    jobLoggingDB: () => JobLoggingDB.fromEnv(env),
    close: () => closeAllEngines(),
  };
}

export interface NewJob {
  jdl: string;
  status?: string;
  minorStatus?: string;
  owner?: string;
  ownerGroup?: string;
  vo?: string;
  attributes?: Record<string, unknown>;
}

/** Inserts jobs as the submission router does (JDL, Jobs row, first logging record). */
export async function insertJobs(te: TaskEnv, jobs: readonly NewJob[]): Promise<number[]> {
  const jobDB = te.jobDB();
  const logging = te.jobLoggingDB();
  const ids: number[] = [];
  const now = new Date(Date.now() - 60_000);
  for (const j of jobs) {
    const id = await jobDB.createJob(compressJdl(j.jdl));
    await jobDB.updateJobJdls({ [id]: compressJdl(j.jdl) });
    const status = j.status ?? "Received";
    const minor = j.minorStatus ?? "Job accepted";
    await jobDB.insertJobAttributes({
      [id]: {
        Owner: j.owner ?? "alice",
        OwnerGroup: j.ownerGroup ?? "lhcb_user",
        VO: j.vo ?? "lhcb",
        Status: status,
        MinorStatus: minor,
        SubmissionTime: now,
        LastUpdateTime: now,
        ...(j.attributes ?? {}),
      },
    });
    await logging.insertRecords([{ jobId: id, status, minorStatus: minor, applicationStatus: "Unknown", date: now, source: "JobManager" }]);
    ids.push(id);
  }
  return ids;
}

/** `{jobId: Status}` */
export async function statuses(te: TaskEnv, ids: readonly number[]): Promise<Record<number, string>> {
  const { rows } = await te.jobDB().search({ parameters: ["JobID", "Status"], search: [{ parameter: "JobID", operator: "in", values: [...ids] }], perPage: Math.max(1, ids.length) });
  return Object.fromEntries(rows.map((r) => [r.JobID!, r.Status!]));
}
