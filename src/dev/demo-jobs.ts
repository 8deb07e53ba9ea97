import { JobDB } from "../db/sql/job-db.ts";
import { JobLoggingDB } from "../db/sql/job-logging-db.ts";
import { withUnitOfWork, type DbRegistry } from "../db/unit-of-work.ts";
import { insertJobs } from "../logic/jobs/submission.ts";
import type { Env } from "../db/sql/base.ts";
import { demoConfig } from "./demo-config.ts";

/** JobGroup of the jobs `diracx-tasks dev` submits, so they are easy to find (and to tell from real ones). */
export const DEMO_JOB_GROUP = "diracx-dev-demo";

export interface DemoJob {
  vo: string;
  owner: string;
  ownerGroup: string;
  name: string;
  jdl: string;
}

/**
 * `count` demo jobs spread over the demo configuration's VOs, each owned by a user of its
 * VO's default group, with a JDL as a user would submit it.
 */
export function demoJobs(count: number): DemoJob[] {
  const registry = demoConfig().Registry;
  const vos = Object.keys(registry);
  const jobs: DemoJob[] = [];
  for (let i = 0; i < count; i++) {
    const vo = vos[i % vos.length]!;
    const { DefaultGroup, Users, Groups } = registry[vo]!;
    const members = Groups[DefaultGroup]?.Users ?? [];
    const sub = members[Math.floor(i / vos.length) % Math.max(1, members.length)]!;
    const owner = Users[sub]?.PreferedUsername ?? sub;
    const name = `demo-${vo}-${i + 1}`;
    const jdl = [
      "[",
      `  Executable = "echo";`,
      `  Arguments = "hello from ${name}";`,
      `  JobName = "${name}";`,
      `  JobType = "User";`,
      `  JobGroup = "${DEMO_JOB_GROUP}";`,
      `  Owner = "${owner}";`,
      `  OwnerGroup = "${DefaultGroup}";`,
      `  VirtualOrganization = "${vo}";`,
      `  Platform = "x86_64-el9";`,
      `  CPUTime = 3600;`,
      `  StdOutput = "std.out";`,
      `  StdError = "std.err";`,
      `  OutputSandbox = { "std.out", "std.err" };`,
      "]",
    ].join("\n");
    jobs.push({ vo, owner, ownerGroup: DefaultGroup, name, jdl });
  }
  return jobs;
}

/**
 * Inserts the demo jobs as a submission does (the logic `POST /api/jobs/jdl` uses) — status
 * Received, the JDL stored, a first logging record — in one unit of work (the registry's
 * JobDB / JobLoggingDB, so an extension's subclasses are used), and returns their ids.
 */
export async function insertDemoJobs(jobs: readonly DemoJob[], opts: { registry: DbRegistry; env?: Env; now?: Date }): Promise<number[]> {
  const now = opts.now ?? new Date();
  return withUnitOfWork({ jobDB: JobDB, jobLoggingDB: JobLoggingDB }, { registry: opts.registry, ...(opts.env ? { env: opts.env } : {}) }, async (deps) => {
    const ids: number[] = [];
    for (const job of jobs) {
      const [inserted] = await insertJobs([job.jdl], { owner: job.owner, ownerGroup: job.ownerGroup, vo: job.vo }, deps, now);
      ids.push(inserted!.JobID);
    }
    return ids;
  });
}
