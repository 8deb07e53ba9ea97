// Every scenario of `npm run chaos`, by name.
import type { Figures } from "../_support.ts";
import * as malformed from "./malformed.ts";
import * as postgresOutage from "./postgres-outage.ts";
import * as redisRestart from "./redis-restart.ts";
import * as redisWipe from "./redis-wipe.ts";
import * as sigkill from "./sigkill.ts";
import * as stall from "./stall.ts";

export interface Scenario {
  description: string;
  defaults: Record<string, number>;
  run(opts: never): Promise<Figures>;
}

export const SCENARIOS = {
  sigkill,
  stall,
  "redis-restart": redisRestart,
  "redis-wipe": redisWipe,
  "postgres-outage": postgresOutage,
  malformed,
} satisfies Record<string, Scenario>;

export type ScenarioName = keyof typeof SCENARIOS;
