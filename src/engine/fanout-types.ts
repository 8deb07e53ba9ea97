// The fan-out shapes task code sees (ctx.spawnWithCallback, ctx.childOutcomes), kept apart from
// fanout.ts so the task model can name them without importing the producer.
import type { SubmitOptions } from "./producer-types.ts";

export interface SpawnOptions extends SubmitOptions {
  /** Fail the callback (and dead-letter it if eligible) when any child failed for good. */
  requireAllSuccess?: boolean;
}

export interface FanoutHandle {
  groupId: string;
  callbackTaskId: string;
  childTaskIds: string[];
}

/** One child's final outcome, as the callback sees it (in spawn order). */
export interface ChildOutcome {
  taskId: string;
  task: string;
  status: "completed" | "failed";
  result?: unknown;
  error?: { type: string; message: string };
}
