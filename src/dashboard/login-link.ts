// `dev`'s dashboard login link: the token rides in the URL fragment, which the browser never
// sends (no access log, proxy or Referer sees it); the login page's script posts it to
// POST /dashboard/session like a pasted token and removes it from the address bar and history.
import type { TokenClaims } from "../http/dev-keys.ts";
import { DASHBOARD_PATH } from "./plugin.ts";

/** The demo operator of `dev`'s configuration: bob in lhcb_admin (ServiceAdministrator: every VO, every action). */
export const demoOperatorClaims: TokenClaims = {
  vo: "lhcb",
  dirac_group: "lhcb_admin",
  dirac_properties: ["ServiceAdministrator", "JobAdministrator"],
  preferred_username: "bob",
};

export function dashboardLoginLink(baseUrl: string, token: string): string {
  return `${baseUrl.replace(/\/+$/, "")}${DASHBOARD_PATH}/login#token=${encodeURIComponent(token)}`;
}
