// Who may do what with jobs, as DiracX's WMSAccessPolicy: creating needs NormalUser, a
// NormalUser reads and manages only their own jobs, a GenericPilot manages, a JobAdministrator
// does everything.
import type { JobDB } from "../../db/sql/job-db.ts";
import type { AuthorizedUser } from "../auth.ts";
import { hasProperty, type AccessPolicy, type PolicyDecision, type PolicyRequest } from "./policy.ts";
import { Properties } from "../properties.ts";

export const WMS_POLICY = "WMSAccessPolicy";

export type WMSAction = "create" | "read" | "manage" | "query";

export interface WMSRequest extends PolicyRequest {
  action: WMSAction;
  jobIds?: readonly number[];
  jobDB?: Pick<JobDB, "summary">;
}

/** True when every one of `jobIds` exists and belongs to `user` (owner and VO). */
export async function ownsJobs(user: AuthorizedUser, jobIds: readonly number[], jobDB: Pick<JobDB, "summary">): Promise<boolean> {
  const ids = [...new Set(jobIds)];
  if (ids.length === 0) return true;
  const rows = await jobDB.summary(["Owner", "VO"], [{ parameter: "JobID", operator: "in", values: ids }]);
  const owned = rows.filter((r) => r.Owner === user.preferredUsername && r.VO === user.vo).reduce((n, r) => n + Number(r.count), 0);
  return owned === ids.length;
}

export const WMSAccessPolicy: AccessPolicy = {
  description: "CREATE needs NormalUser; NormalUser reads/manages own jobs; GenericPilot manages; JobAdministrator everything",
  async decide(user: AuthorizedUser, req: PolicyRequest): Promise<PolicyDecision> {
    const { action, jobIds, jobDB } = req as WMSRequest;
    if (hasProperty(user, Properties.JobAdministrator)) return "allow";
    if (action === "create") return hasProperty(user, Properties.NormalUser) ? "allow" : "deny";
    if (action === "manage" && hasProperty(user, Properties.GenericPilot)) return "allow";
    if (!hasProperty(user, Properties.NormalUser)) return "deny";
    // A search is filtered to the user's own jobs by the route.
    if (action === "query") return "allow";
    if (!jobIds || !jobDB) return "deny";
    return (await ownsJobs(user, jobIds, jobDB)) ? "allow" : "deny";
  },
};

/** Whether searches by `user` are restricted to their own jobs. */
export function seesOnlyOwnJobs(user: AuthorizedUser): boolean {
  return !hasProperty(user, Properties.JobAdministrator);
}
