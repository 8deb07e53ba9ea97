// The pilot-submission example: per VO, submit one pilot per free slot of the VO's computing
// elements, then follow the pilots until they finish.
import {
  CronSchedule,
  DiracxError,
  IntervalSchedule,
  MutexLock,
  NoRetry,
  defineTask,
  definePeriodicTask,
  definePeriodicVoAwareTask,
  depsOf,
  z,
  type ContextOf,
  type Lock,
} from "diracx-tasks";
import { MyPilotDB, type MyPilotStatus } from "../db/my-pilot-db.ts";
import { MY_PILOT } from "../my-pilot-lock-types.ts";

export class PilotSubmissionError extends DiracxError {}

let randomSource: () => number = Math.random;

/** Replaces the source of randomness of pilot outcomes (tests make them deterministic); no argument restores Math.random. */
export function setRandomSource(source?: () => number): void {
  randomSource = source ?? Math.random;
}

/** Submits one pilot to a CE; fails as often as the CE's success rate says. */
export class MyPilotTask extends defineTask({
  args: z.object({ ceName: z.string().min(1) }),
  dependencies: { myPilotDB: MyPilotDB },
  size: "small",
  retryPolicy: new NoRetry(),
}) {
  override locks(): Lock[] {
    return [new MutexLock(MY_PILOT, this.args.ceName)];
  }

  async execute(ctx: ContextOf<typeof MyPilotTask>): Promise<number> {
    const { myPilotDB } = depsOf(MyPilotTask, ctx);
    const rate = await myPilotDB.getCeSuccessRate(this.args.ceName);
    if (randomSource() >= rate) throw new PilotSubmissionError(`pilot submission to CE ${this.args.ceName} failed (success rate ${rate})`);
    return myPilotDB.submitPilot(this.args.ceName);
  }
}

/** Every 60 s per VO: one MyPilotTask per free slot of the VO's CEs (upstream used every CE for every VO). */
export class MySubmitPilotsTask extends definePeriodicVoAwareTask({
  dependencies: { myPilotDB: MyPilotDB },
  schedule: new IntervalSchedule(60),
}) {
  async execute(ctx: ContextOf<typeof MySubmitPilotsTask>): Promise<number> {
    const { myPilotDB } = depsOf(MySubmitPilotsTask, ctx);
    let spawned = 0;
    for (const ce of await myPilotDB.getAvailableCes(this.args.vo)) {
      for (let slot = 0; slot < ce.availableSlots; slot++) {
        await ctx.schedule(new MyPilotTask({ ceName: ce.name }));
        spawned++;
      }
    }
    return spawned;
  }
}

export type PilotTransitions = Record<"started" | "done" | "failed", number[]>;

/**
 * Every 30 s per VO: submitted pilots start running; pilots already running at the start of the
 * check finish, done or failed by their CE's success rate (each pilot runs for one check).
 */
export class MyCheckPilotsTask extends definePeriodicVoAwareTask({
  dependencies: { myPilotDB: MyPilotDB },
  schedule: new IntervalSchedule(30),
}) {
  async execute(ctx: ContextOf<typeof MyCheckPilotsTask>): Promise<PilotTransitions> {
    const { myPilotDB } = depsOf(MyCheckPilotsTask, ctx);
    const out: PilotTransitions = { started: [], done: [], failed: [] };
    const running = await myPilotDB.getPilotsByStatus("running", this.args.vo);
    for (const p of await myPilotDB.getPilotsByStatus("submitted", this.args.vo)) {
      await myPilotDB.updatePilotStatus(p.pilotId, "running");
      out.started.push(p.pilotId);
    }
    const rates = new Map<string, number>();
    for (const p of running) {
      if (!rates.has(p.ceName)) rates.set(p.ceName, await myPilotDB.getCeSuccessRate(p.ceName));
      const status: MyPilotStatus = randomSource() < rates.get(p.ceName)! ? "done" : "failed";
      await myPilotDB.updatePilotStatus(p.pilotId, status);
      out[status].push(p.pilotId);
    }
    return out;
  }
}

/** Hourly: pilots per status. */
export class MyPilotReportTask extends definePeriodicTask({
  dependencies: { myPilotDB: MyPilotDB },
  schedule: new CronSchedule("0 * * * *"),
}) {
  async execute(ctx: ContextOf<typeof MyPilotReportTask>): Promise<Record<MyPilotStatus, number>> {
    return depsOf(MyPilotReportTask, ctx).myPilotDB.getPilotSummary();
  }
}
