// What an extension imports to write routers and access policies (`diracx-tasks/http`).
export { defineRouter, route, isRouter, type RouteContext, type RouteDefinition, type RouterDefinition, type RouterOptions, type HttpMethod } from "./router.ts";
export { hasProperty, type AccessPolicy, type PolicyDecision, type PolicyRequest } from "./policies/policy.ts";
export { WMSAccessPolicy, WMS_POLICY, type WMSAction, type WMSRequest } from "./policies/wms.ts";
export { TasksAccessPolicy, TASKS_POLICY, visibleVo } from "./policies/tasks.ts";
export { HttpError } from "./errors.ts";
export { Properties } from "./properties.ts";
export type { AuthorizedUser } from "./auth.ts";
