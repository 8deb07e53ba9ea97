// Every scenario of `npm run chaos`, by name.
import type { Figures } from "../_support.ts";
import * as sigkill from "./sigkill.ts";

export interface Scenario {
  description: string;
  defaults: Record<string, number>;
  run(opts: never): Promise<Figures>;
}

export const SCENARIOS = {
  sigkill,
} satisfies Record<string, Scenario>;

export type ScenarioName = keyof typeof SCENARIOS;
