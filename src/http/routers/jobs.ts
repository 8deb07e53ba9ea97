// DiracX's job routes, with the background work upstream leaves as TODO: a submission (and a
// reschedule) hands the jobs to the optimiser, realtime, once they are committed.
import { z } from "zod";
import { JobDB } from "../../db/sql/job-db.ts";
import { JobLoggingDB } from "../../db/sql/job-logging-db.ts";
import { addHeartbeat } from "../../logic/jobs/heartbeat.ts";
import { rescheduleJobs } from "../../logic/jobs/reschedule.ts";
import { setJobStatuses } from "../../logic/jobs/set-job-statuses.ts";
import { JobStatus } from "../../logic/jobs/status.ts";
import { submitJdlJobs } from "../../logic/jobs/submission.ts";
import type { SearchSpec } from "../../db/sql/search.ts";
import { optimisationRequests } from "../../logic/jobs/optimisation.ts";
import { JOB_STATUS_DEPS } from "../../logic/jobs/status-deps.ts";
import type { Engine } from "../../engine/wiring.ts";
import { HttpError } from "../errors.ts";
import { seesOnlyOwnJobs, WMS_POLICY } from "../policies/wms.ts";
import { defineRouter, route } from "../router.ts";

const JobIdsQuery = z.object({ job_ids: z.union([z.coerce.number().int().positive(), z.array(z.coerce.number().int().positive())]).transform((v) => (Array.isArray(v) ? v : [v])) });

const Scalar = z.union([z.string(), z.number(), z.boolean()]);
const SearchSpecSchema = z.union([
  z.object({ parameter: z.string(), operator: z.enum(["eq", "neq", "gt", "lt", "like", "not like", "regex"]), value: Scalar }),
  z.object({ parameter: z.string(), operator: z.enum(["in", "not in"]), values: z.array(Scalar) }),
]);
export const JobSearchBody = z.object({
  parameters: z.array(z.string()).nullish(),
  search: z.array(SearchSpecSchema).default([]),
  sort: z.array(z.object({ parameter: z.string(), direction: z.enum(["asc", "desc"]) })).default([]),
  distinct: z.boolean().default(false),
});

const StatusUpdate = z.object({ Status: z.string().optional(), MinorStatus: z.string().optional(), ApplicationStatus: z.string().optional(), Source: z.string().default("Unknown") });
const InsertedJob = z.object({ JobID: z.number(), Status: z.string(), MinorStatus: z.string(), TimeStamp: z.date() });

/** Hands jobs to whatever task is registered as `jobs:OptimizeJobsTask` (an extension's replacement too). */
function submitOptimisation(engine: Engine, jobIds: readonly number[]): Promise<string[]> {
  return engine.producer.submitBulk(optimisationRequests(jobIds));
}

function idsOf(record: Record<string, unknown>): number[] {
  return Object.keys(record).map((k) => {
    const n = Number(k);
    if (!Number.isInteger(n) || n <= 0) throw new HttpError(422, [{ loc: ["body", k], msg: "job ids must be positive integers", type: "int_parsing" }]);
    return n;
  });
}

export const router = defineRouter({}, [
  route({
    method: "POST",
    path: "/jdl",
    name: "submit_jdl_jobs",
    summary: "Submit jobs described by JDLs (a parametric JDL becomes one job per parameter); they are then optimised.",
    policy: WMS_POLICY,
    dependencies: { jobDB: JobDB, jobLoggingDB: JobLoggingDB },
    body: z.array(z.string().min(1)).min(1),
    response: z.array(InsertedJob),
    async handler({ body }, ctx) {
      await ctx.checkPermissions({ action: "create" });
      const user = ctx.user!;
      const jobs = await submitJdlJobs(body, { owner: user.preferredUsername, ownerGroup: user.diracGroup, vo: user.vo }, ctx.deps);
      ctx.afterCommit(async () => {
        await submitOptimisation(
          ctx.engine,
          jobs.map((j) => j.JobID),
        );
      });
      return jobs;
    },
  }),
  route({
    method: "POST",
    path: "/search",
    name: "search",
    summary: "Search jobs (DiracX's search/sort/paging body); a NormalUser sees only their own jobs.",
    policy: WMS_POLICY,
    dependencies: { jobDB: JobDB },
    body: JobSearchBody,
    query: z.object({ page: z.coerce.number().int().positive().default(1), per_page: z.coerce.number().int().positive().max(10_000).default(100) }),
    async handler({ body, query }, ctx) {
      await ctx.checkPermissions({ action: "query" });
      const user = ctx.user!;
      const search: SearchSpec[] = [...(body.search as SearchSpec[])];
      if (seesOnlyOwnJobs(user)) {
        search.push({ parameter: "Owner", operator: "eq", value: user.preferredUsername }, { parameter: "VO", operator: "eq", value: user.vo });
      }
      const { total, rows } = await ctx.deps.jobDB.search({
        ...(body.parameters ? { parameters: body.parameters } : {}),
        search,
        sorts: body.sort,
        distinct: body.distinct,
        page: query.page,
        perPage: query.per_page,
      });
      const first = (query.page - 1) * query.per_page;
      if (rows.length > 0) ctx.header("Content-Range", `jobs ${first}-${first + rows.length - 1}/${total}`);
      else ctx.header("Content-Range", `jobs */${total}`);
      if (rows.length < total) ctx.status(206);
      return rows;
    },
  }),
  route({
    method: "PATCH",
    path: "/status",
    name: "set_job_statuses",
    summary: "Set job statuses: {job id: {ISO time: {Status, MinorStatus, ApplicationStatus, Source}}}.",
    policy: WMS_POLICY,
    dependencies: JOB_STATUS_DEPS,
    body: z.record(z.string(), z.record(z.string(), StatusUpdate)),
    query: z.object({ force: z.stringbool().default(false) }),
    async handler({ body, query }, ctx) {
      const ids = idsOf(body);
      await ctx.checkPermissions({ action: "manage", jobIds: ids, jobDB: ctx.deps.jobDB });
      const changes = Object.fromEntries(
        Object.entries(body).map(([id, updates]) => [
          Number(id),
          Object.entries(updates).map(([time, u]) => ({
            time,
            source: u.Source,
            ...(u.Status !== undefined ? { status: u.Status } : {}),
            ...(u.MinorStatus !== undefined ? { minorStatus: u.MinorStatus } : {}),
            ...(u.ApplicationStatus !== undefined ? { applicationStatus: u.ApplicationStatus } : {}),
          })),
        ]),
      );
      return setJobStatuses(changes, ctx.deps, { force: query.force });
    },
  }),
  route({
    method: "PATCH",
    path: "/heartbeat",
    name: "add_heartbeat",
    summary: "Record heartbeats of running jobs; returns their pending commands.",
    policy: WMS_POLICY,
    dependencies: JOB_STATUS_DEPS,
    body: z.record(z.string(), z.record(z.string(), z.union([z.string(), z.number()]))),
    async handler({ body }, ctx) {
      const ids = idsOf(body);
      await ctx.checkPermissions({ action: "manage", jobIds: ids, jobDB: ctx.deps.jobDB });
      const data = Object.fromEntries(Object.entries(body).map(([id, v]) => [Number(id), v]));
      return addHeartbeat(data, ctx.deps);
    },
  }),
  route({
    method: "POST",
    path: "/reschedule",
    name: "reschedule_jobs",
    summary: "Send jobs back to be optimised again (counted against MaxRescheduling unless reset_jobs).",
    policy: WMS_POLICY,
    dependencies: JOB_STATUS_DEPS,
    query: JobIdsQuery.extend({ reset_jobs: z.stringbool().default(false) }),
    async handler({ query }, ctx) {
      await ctx.checkPermissions({ action: "manage", jobIds: query.job_ids, jobDB: ctx.deps.jobDB });
      const res = await rescheduleJobs(query.job_ids, ctx.deps, { resetJobs: query.reset_jobs });
      if (res.rescheduled.length) ctx.afterCommit(async () => void (await submitOptimisation(ctx.engine, res.rescheduled)));
      return res;
    },
  }),
  route({
    method: "DELETE",
    path: "",
    name: "remove_jobs",
    summary: "Delete jobs (status Deleted; they leave their task queues).",
    policy: WMS_POLICY,
    dependencies: JOB_STATUS_DEPS,
    query: JobIdsQuery,
    async handler({ query }, ctx) {
      await ctx.checkPermissions({ action: "manage", jobIds: query.job_ids, jobDB: ctx.deps.jobDB });
      const now = new Date();
      return setJobStatuses(Object.fromEntries(query.job_ids.map((id) => [id, [{ time: now, status: JobStatus.Deleted, source: "JobManager" }]])), ctx.deps);
    },
  }),
]);

