import { ConfigSchema, UserConfigSchema, VORegistrySchema, z } from "diracx-tasks";

/*
 * Gubbins' configuration schema, registered as its `diracx` → `config` entry point so that
 * ConfigSource.fromEnv validates with it instead of core's. It extends core's schema the way
 * DiracX's gubbins does: every user may carry a `GubbinsSpecificInfo` string.
 */

export const GubbinsUserConfigSchema = UserConfigSchema.extend({
  GubbinsSpecificInfo: z.string().optional(),
});

export const GubbinsVORegistrySchema = VORegistrySchema.extend({
  Users: z.record(z.string(), GubbinsUserConfigSchema).default({}),
});

export const GubbinsConfigSchema = ConfigSchema.extend({
  Registry: z.record(z.string(), GubbinsVORegistrySchema),
});

export type GubbinsConfig = z.output<typeof GubbinsConfigSchema>;
