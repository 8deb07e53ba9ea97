// Job optimisation on submission: what DIRAC's optimiser chain (JobSanity → InputData →
// JobScheduling) does for a freshly submitted job, as one realtime task. Routers call
// `optimizeJobs(ids)` after committing the jobs they inserted.
import type { Logger } from "pino";
import { z } from "zod";
import {
  type ContextOf,
  defineTask,
  depsOf,
  type DiracxConfig,
  ExponentialBackoff,
  type FindCompatiblePlatforms,
  type Jdl,
  JobStatus,
  type Lock,
  logger as rootLogger,
  MAX_JOBS_PER_OPTIMIZER_TASK,
  MutexLock,
  operationsFor,
  parseJdl,
  recalculateTqSharesForEntity,
  resource,
  setJobStatuses,
  type SubmitOptions,
  type TaskDeps,
  type TaskQueueDefinition,
  type TaskQueueJob,
  type TimedJobStatusUpdate,
} from "diracx-tasks";
import { JOB_STATUS_DEPS, SOURCES } from "./deps.ts";
import { keepTraceContext } from "./trace-context.ts";

// Jobs per optimiser task (one home: src/logic/jobs/optimisation.ts, which routers submit through).
export { MAX_JOBS_PER_OPTIMIZER_TASK };

/** Minor statuses the optimiser writes. */
export const OptimizerMinorStatus = {
  Checking: "JobSanity",
  Waiting: "Pilot Agent Submission",
  NoJdl: "No JDL found",
  JdlSyntax: "JDL syntax error",
  NoOwner: "Job has no owner, group or VO",
  TooManyInputData: (max: number) => `Exceeded Maximum Dataset Limit (${max})`,
  BadInputData: "Input data not valid",
  JobTypeNotAllowed: (type: string) => `Job type ${type} not allowed`,
  NoPlatform: "No compatible platform",
  ImpossibleSites: "Impossible Site Requirement",
} as const;

const OPTIMIZABLE: ReadonlySet<string> = new Set([JobStatus.Received, JobStatus.Checking]);
const ANY_SITE = new Set(["ANY", ""]);

export interface OptimizerDeps extends Omit<TaskDeps<typeof OptimizeJobsTask>, "config"> {
  config: DiracxConfig;
}

export interface OptimizationResult {
  /** `{jobId: TQId}` of the jobs now Waiting in a task queue. */
  queued: Record<number, number>;
  /** `{jobId: minor status}` of the jobs failed by a check. */
  failed: Record<number, string>;
  /** Jobs not (or no longer) awaiting optimisation: unknown, already optimised, killed… */
  skipped: number[];
}

interface JobRow {
  JobID: number;
  Status: string;
  Owner: string;
  OwnerGroup: string;
  VO: string | null;
  UserPriority: number;
  JobType: string;
}

type Verdict =
  | { ok: true; tq: TaskQueueJob; site: string; jobType: string; newInputData: string[] }
  | { ok: false; minorStatus: string; detail: string };

/** The requirements of one job, or the check it fails. */
function assess(row: JobRow, jdlText: string | undefined, storedLfns: readonly string[], config: DiracxConfig, findPlatforms: FindCompatiblePlatforms): Verdict {
  const fail = (minorStatus: string, detail: string): Verdict => ({ ok: false, minorStatus, detail });
  if (!jdlText) return fail(OptimizerMinorStatus.NoJdl, "the job has no JDL");
  let jdl: Jdl;
  try {
    jdl = parseJdl(jdlText);
  } catch (err) {
    return fail(OptimizerMinorStatus.JdlSyntax, (err as Error).message);
  }
  // DiracX embeds the requirements it computed at submission; a top-level attribute wins.
  const req = jdl.ad("JobRequirements");
  const pick = <T>(get: (ad: Jdl) => T | undefined, empty: (v: T) => boolean): T | undefined => {
    const top = get(jdl);
    if (top !== undefined && !empty(top)) return top;
    return req ? get(req) : undefined;
  };
  const list = (...names: string[]): string[] => [...new Set(names.flatMap((n) => pick((ad) => ad.list(n), (v) => v.length === 0) ?? []))];

  const vo = row.VO ?? "";
  if (!row.Owner || row.Owner === "Unknown" || !row.OwnerGroup || row.OwnerGroup === "Unknown" || !vo) {
    return fail(OptimizerMinorStatus.NoOwner, `Owner=${row.Owner}, OwnerGroup=${row.OwnerGroup}, VO=${vo || "(none)"}`);
  }
  const ops = operationsFor(config, vo).JobDescription;

  // JobSanity: input data within the VO's limit and inside the VO's namespace.
  const jdlLfns = jdl.list("InputData").map((l) => l.replace(/^LFN:/i, ""));
  const lfns = [...new Set([...storedLfns, ...jdlLfns])];
  if (lfns.length > ops.MaxInputData) return fail(OptimizerMinorStatus.TooManyInputData(ops.MaxInputData), `${lfns.length} input files`);
  const badLfn = lfns.find((l) => !l.startsWith(`/${vo}/`));
  if (badLfn) return fail(OptimizerMinorStatus.BadInputData, `LFN ${badLfn} is not under /${vo}/`);

  // The JDL's (default User, as the submission manifest has it), not the column default "user".
  const jobType = pick((ad) => ad.string("JobType"), (v) => v === "") ?? "User";
  if (!ops.AllowedJobTypes.includes(jobType)) return fail(OptimizerMinorStatus.JobTypeNotAllowed(jobType), `allowed: ${ops.AllowedJobTypes.join(", ")}`);

  // JobScheduling: where and on what the job may run.
  // Passed as written, "ANY" included: what it means is the active find_compatible_platforms' call.
  const requestedPlatforms = list("Platform", "Platforms");
  let platforms: string[] = [];
  if (requestedPlatforms.length) {
    try {
      platforms = findPlatforms(requestedPlatforms, config);
    } catch (err) {
      return fail(OptimizerMinorStatus.NoPlatform, (err as Error).message);
    }
  }
  const banned = list("BannedSites", "BannedSite");
  const wanted = list("Site", "Sites").filter((s) => !ANY_SITE.has(s.toUpperCase()));
  const sites = wanted.filter((s) => !banned.includes(s));
  if (wanted.length > 0 && sites.length === 0) return fail(OptimizerMinorStatus.ImpossibleSites, `every requested site is banned: ${wanted.join(", ")}`);

  const cpuRequested = pick((ad) => ad.number("CPUTime"), (v) => Number.isNaN(v)) ?? ops.DefaultCPUTime;
  const cpuTime = Math.min(ops.MaxCPUTime, Math.max(ops.MinCPUTime, Math.round(cpuRequested)));
  const priority = pick((ad) => ad.number("Priority"), (v) => Number.isNaN(v)) ?? row.UserPriority ?? ops.DefaultPriority;
  const tags = list("Tags", "Tag");
  const processors = jdl.number("NumberOfProcessors");
  if (processors !== undefined && processors > 1) tags.push(`${processors}Processors`);

  const definition: TaskQueueDefinition = {
    Owner: row.Owner,
    OwnerGroup: row.OwnerGroup,
    VO: vo,
    CPUTime: cpuTime,
    Sites: sites,
    GridCEs: list("GridCE", "GridCEs"),
    BannedSites: banned,
    Platforms: platforms,
    JobTypes: [jobType],
    Tags: [...new Set(tags)],
  };
  return {
    ok: true,
    tq: { jobId: row.JobID, priority, definition },
    site: sites.length === 0 ? "ANY" : sites.length === 1 ? sites[0]! : "Multiple",
    jobType,
    newInputData: jdlLfns.filter((l) => !storedLfns.includes(l)),
  };
}

/**
 * Optimises the jobs that await it (Received, or Checking after an interrupted run):
 * a job passing the checks is put in the task queue of its requirements and becomes
 * Waiting; a job failing one becomes Failed with the check as minor status. Everything is
 * written through `deps` (the caller's transactions).
 */
export async function runJobOptimization(jobIds: readonly number[], deps: OptimizerDeps, opts: { now?: Date; logger?: Logger } = {}): Promise<OptimizationResult> {
  const log = opts.logger ?? rootLogger;
  const ids = [...new Set(jobIds)];
  const result: OptimizationResult = { queued: {}, failed: {}, skipped: [] };
  if (ids.length === 0) return result;
  const { rows } = await deps.jobDB.search({
    parameters: ["JobID", "Status", "Owner", "OwnerGroup", "VO", "UserPriority", "JobType"],
    search: [{ parameter: "JobID", operator: "in", values: ids }],
    perPage: ids.length,
  });
  const jobs = (rows as JobRow[]).filter((r) => OPTIMIZABLE.has(r.Status));
  const found = new Set(jobs.map((r) => r.JobID));
  result.skipped = ids.filter((id) => !found.has(id));
  if (jobs.length === 0) return result;

  const jdls = await deps.jobDB.getJobJdls([...found]);
  const stored = await deps.jobDB.getInputData([...found]);
  const now = opts.now ?? new Date();
  const later = new Date(now.getTime() + 1);
  const statusChanges: Record<number, TimedJobStatusUpdate[]> = {};
  const toQueue: TaskQueueJob[] = [];
  const attributes: Record<number, { Site: string; UserPriority: number; JobType: string; VerifiedFlag: boolean }> = {};
  const newInputData: Record<number, string[]> = {};

  for (const row of jobs) {
    const verdict = assess(row, jdls[row.JobID], stored[row.JobID] ?? [], deps.config, deps.findCompatiblePlatforms);
    const updates: TimedJobStatusUpdate[] = [];
    if (row.Status === JobStatus.Received) {
      updates.push({ time: now, status: JobStatus.Checking, minorStatus: OptimizerMinorStatus.Checking, source: SOURCES.optimizer });
    }
    if (verdict.ok) {
      toQueue.push(verdict.tq);
      attributes[row.JobID] = { Site: verdict.site, UserPriority: verdict.tq.priority, JobType: verdict.jobType, VerifiedFlag: true };
      if (verdict.newInputData.length) newInputData[row.JobID] = verdict.newInputData;
      updates.push({ time: later, status: JobStatus.Waiting, minorStatus: OptimizerMinorStatus.Waiting, source: SOURCES.optimizer });
    } else {
      result.failed[row.JobID] = verdict.minorStatus;
      log.info({ jobId: row.JobID, minorStatus: verdict.minorStatus, detail: verdict.detail }, "job failed optimisation");
      updates.push({ time: later, status: JobStatus.Failed, minorStatus: verdict.minorStatus, source: SOURCES.optimizer });
    }
    statusChanges[row.JobID] = updates;
  }

  await deps.jobDB.insertInputData(newInputData);
  if (toQueue.length) {
    Object.assign(result.queued, await deps.taskQueueDB.insertJobs(toQueue));
    await deps.jobDB.setJobAttributes(attributes);
  }
  const res = await setJobStatuses(statusChanges, { ...deps, config: deps.config });
  for (const [id, f] of Object.entries(res.failed)) log.warn({ jobId: Number(id), detail: f.detail }, "optimiser: status update refused");

  // New queues (or more jobs in old ones) change every affected entity's share.
  const entities = new Map<string, { owner: string; group: string; vo: string }>();
  for (const j of toQueue) {
    const d = j.definition;
    entities.set(JSON.stringify([d.Owner, d.OwnerGroup, d.VO]), { owner: d.Owner, group: d.OwnerGroup, vo: d.VO });
  }
  for (const e of entities.values()) await recalculateTqSharesForEntity(e, deps.config, deps.taskQueueDB);
  return result;
}

/** Optimises up to MAX_JOBS_PER_OPTIMIZER_TASK submitted jobs (realtime: users wait for it). */
export class OptimizeJobsTask extends defineTask({
  args: z.object({ jobIds: z.array(z.number().int().positive()).min(1).max(MAX_JOBS_PER_OPTIMIZER_TASK) }),
  dependencies: { ...JOB_STATUS_DEPS, findCompatiblePlatforms: resource<FindCompatiblePlatforms>("find_compatible_platforms") },
  priority: "realtime",
  size: "small",
  retryPolicy: new ExponentialBackoff({ baseDelaySeconds: 5, maxRetries: 5 }),
  // Its loss leaves jobs Received/Checking: the dead letter tells the operator (and the
  // sweep, SweepUnoptimisedJobsTask, re-submits the optimisation once JobDB answers again).
  dlqEligible: true,
}) {
  /** One mutex per job: never optimised twice at once, nor while an executor holds it. */
  override locks(): Lock[] {
    return [...new Set(this.args.jobIds)].map((id) => new MutexLock("job", id));
  }

  async execute(ctx: ContextOf<typeof OptimizeJobsTask>): Promise<OptimizationResult> {
    const deps = depsOf(OptimizeJobsTask, ctx);
    const result = await runJobOptimization(this.args.jobIds, deps, { logger: ctx.logger });
    await keepTraceContext(Object.keys(result.queued).map(Number), deps.jobDB);
    return result;
  }
}

/**
 * For routers: submits the optimisation of freshly inserted (and committed) jobs, in tasks of
 * at most MAX_JOBS_PER_OPTIMIZER_TASK jobs, through the bound producer. Returns the task ids.
 */
export async function optimizeJobs(jobIds: readonly number[], opts: SubmitOptions = {}): Promise<string[]> {
  const ids = [...new Set(jobIds)];
  const taskIds: string[] = [];
  for (let i = 0; i < ids.length; i += MAX_JOBS_PER_OPTIMIZER_TASK) {
    taskIds.push(await new OptimizeJobsTask({ jobIds: ids.slice(i, i + MAX_JOBS_PER_OPTIMIZER_TASK) }).schedule(opts));
  }
  return taskIds;
}
