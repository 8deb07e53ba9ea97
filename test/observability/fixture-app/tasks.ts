// Tasks for the tracing test (test/observability/tracing.test.ts), beside core's.
import { defineTask, z, type ContextOf } from "diracx-tasks";

/** Fails for good at once and is kept in the dead-letter queue. */
export class Fails extends defineTask({ args: z.object({ key: z.string() }), size: "small", dlqEligible: true }) {
  async execute(_ctx: ContextOf<typeof Fails>): Promise<never> {
    throw new Error(`failing ${this.args.key}`);
  }
}

export class Child extends defineTask({ args: z.object({ n: z.number() }), size: "large" }) {
  async execute(_ctx: ContextOf<typeof Child>) {
    return this.args.n;
  }
}

/** One child through ctx.schedule(), one through task.schedule(): both in the attempt's trace. */
export class Spawner extends defineTask({ args: z.object({}), size: "small" }) {
  async execute(ctx: ContextOf<typeof Spawner>) {
    return [await ctx.schedule(new Child({ n: 0 })), await new Child({ n: 1 }).schedule()];
  }
}
