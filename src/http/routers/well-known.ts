// `/.well-known/dirac-metadata`: what a DiracX client learns about the installation before
// logging in (VOs, their groups, the default group).
import { z } from "zod";
import { defineRouter, route } from "../router.ts";

const Metadata = z.object({
  virtual_organizations: z.record(z.string(), z.object({ groups: z.record(z.string(), z.object({ properties: z.array(z.string()) })), support: z.record(z.string(), z.unknown()), default_group: z.string().nullable() })),
});

export const router = defineRouter({ requireAuth: false, pathRoot: "" }, [
  route({
    method: "GET",
    path: "/dirac-metadata",
    name: "installation_metadata",
    summary: "The VOs of this installation and their groups.",
    openAccess: true,
    response: Metadata,
    async handler(_req, ctx) {
      const registry = ctx.engine.config?.current().Registry ?? {};
      return {
        virtual_organizations: Object.fromEntries(
          Object.entries(registry).map(([vo, reg]) => [
            vo,
            {
              groups: Object.fromEntries(Object.entries(reg.Groups ?? {}).map(([g, grp]) => [g, { properties: [...(grp.Properties ?? [])].sort() }])),
              support: (reg.Support ?? {}) as Record<string, unknown>,
              default_group: reg.DefaultGroup ?? null,
            },
          ]),
        ),
      };
    },
  }),
]);
