// Access policies, Rucio-style: each implementation answers allow, deny or undecided
// (undefined); implementations of one policy name are asked extension first, core last, the
// first decision wins, and nobody deciding is a deny. Upstream, an extension's policy replaces
// core's wholesale; here it can handle its special cases and inherit core's rules for the rest.
import type { AuthorizedUser } from "../auth.ts";

export type PolicyDecision = "allow" | "deny" | undefined;

/** What a route tells its policy: an action, plus whatever the policy needs (job ids, a DB…). */
export interface PolicyRequest {
  action: string;
  [key: string]: unknown;
}

/** The export an `diracx.access_policies` entry names. */
export interface AccessPolicy {
  /** Allow, deny, or undefined to let the next implementation decide. Throwing is a 500, never an allow. */
  decide(user: AuthorizedUser, request: PolicyRequest): PolicyDecision | Promise<PolicyDecision>;
  /** Optional: a per-VO filter the route applies to what it lists (the tasks policy uses it). */
  readonly description?: string;
}

export function isAccessPolicy(value: unknown): value is AccessPolicy {
  return !!value && (typeof value === "object" || typeof value === "function") && typeof (value as AccessPolicy).decide === "function";
}

export function hasProperty(user: AuthorizedUser, ...properties: readonly string[]): boolean {
  return properties.some((p) => user.properties.includes(p));
}

/** Asks a policy's implementations in order: the first decision wins, nobody deciding is a deny. */
export async function policyAllows(chain: readonly AccessPolicy[], user: AuthorizedUser, request: PolicyRequest): Promise<boolean> {
  for (const impl of chain) {
    const decision = await impl.decide(user, request);
    if (decision === "allow") return true;
    if (decision === "deny") return false;
  }
  return false;
}
