// Gubbins' `lollygag` router (`/api/lollygag`): owners and cars of its LollygagDB, and a route
// that hands the owner sync to a background task.
import { z } from "zod";
import { defineRouter, hasProperty, route, type AccessPolicy, type PolicyRequest } from "diracx-tasks/http";
import { LollygagDB } from "../db/lollygag-db.ts";
import { SyncOwnersTask } from "../tasks/lollygag.ts";
import { GUBBINS_SENSEI } from "../properties.ts";

export const LOLLYGAG_POLICY = "LollygagAccessPolicy";

/** Reading and creating need NormalUser; managing (syncing) needs GubbinsSensei. */
export const LollygagAccessPolicy: AccessPolicy = {
  decide(user, req: PolicyRequest) {
    if (req.action === "manage") return hasProperty(user, GUBBINS_SENSEI) ? "allow" : "deny";
    return hasProperty(user, "NormalUser") ? "allow" : "deny";
  },
};

export const router = defineRouter({}, [
  route({
    method: "POST",
    path: "/insert_owner/:owner_name",
    name: "insert_owner_object",
    policy: LOLLYGAG_POLICY,
    dependencies: { lollygagDB: LollygagDB },
    params: z.object({ owner_name: z.string().min(1).max(255) }),
    async handler({ params }, ctx) {
      await ctx.checkPermissions({ action: "create" });
      return ctx.deps.lollygagDB.insertOwner(params.owner_name);
    },
  }),
  route({
    method: "GET",
    path: "/get_owners",
    name: "get_owner_object",
    policy: LOLLYGAG_POLICY,
    dependencies: { lollygagDB: LollygagDB },
    async handler(_req, ctx) {
      await ctx.checkPermissions({ action: "read" });
      return ctx.deps.lollygagDB.getOwners();
    },
  }),
  route({
    method: "POST",
    path: "/sync_owner/:owner_name",
    name: "sync_owner",
    summary: "Sync an owner in the background (SyncOwnersTask); returns the task id.",
    policy: LOLLYGAG_POLICY,
    params: z.object({ owner_name: z.string().min(1).max(255) }),
    async handler({ params }, ctx) {
      await ctx.checkPermissions({ action: "manage" });
      return { taskId: await ctx.engine.producer.submit(SyncOwnersTask, { ownerName: params.owner_name }) };
    },
  }),
]);
