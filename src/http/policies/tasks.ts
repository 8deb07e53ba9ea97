// The operator API's policy: reading needs ServiceAdministrator, Operator or JobAdministrator;
// changing anything needs ServiceAdministrator or Operator; only a ServiceAdministrator sees
// every VO, the others see (and act on) their own VO's tasks, schedules and dead letters.
import type { AuthorizedUser } from "../auth.ts";
import { Properties } from "../properties.ts";
import { hasProperty, type AccessPolicy, type PolicyDecision, type PolicyRequest } from "./policy.ts";

export const TASKS_POLICY = "TasksAccessPolicy";

export interface TasksRequest extends PolicyRequest {
  action: "read" | "write";
  /** The VO of the object acted on, when it has one. */
  vo?: string | undefined;
}

export const TasksAccessPolicy: AccessPolicy = {
  description: "read: ServiceAdministrator, Operator, JobAdministrator; write: ServiceAdministrator, Operator; non-admins only their VO",
  decide(user: AuthorizedUser, req: PolicyRequest): PolicyDecision {
    const { action, vo } = req as TasksRequest;
    const allowed = action === "read" ? hasProperty(user, Properties.ServiceAdministrator, Properties.Operator, Properties.JobAdministrator) : hasProperty(user, Properties.ServiceAdministrator, Properties.Operator);
    if (!allowed) return "deny";
    if (vo !== undefined && visibleVo(user) !== undefined && vo !== user.vo) return "deny";
    return "allow";
  },
};

/** The only VO `user` may see, or undefined for all of them. */
export function visibleVo(user: AuthorizedUser): string | undefined {
  return hasProperty(user, Properties.ServiceAdministrator) ? undefined : user.vo;
}
