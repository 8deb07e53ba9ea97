/**
 * BullMQ's Queue and FlowProducer with one change to what they store: a job's `opts` in Redis
 * leave out `jobId`. BullMQ keeps the id as the job's key already and never reads it back from
 * the stored options, but a task id (a UUID) in them is what pushed every task's job hash out
 * of Redis's compact encoding (a value over `hash-max-listpack-value`, 64 bytes by default):
 * more memory per waiting task and more Redis time per attempt (README, "Job records").
 */
import { FlowProducer, Job, Queue, type JobJson } from "bullmq";

/** A job whose stored options leave out its id (the id is the job's key). */
export class TaskJob extends Job {
  override asJSON(): JobJson {
    const json = super.asJSON();
    if (json.opts?.jobId === undefined) return json;
    const { jobId: _id, ...opts } = json.opts;
    return { ...json, opts };
  }
}

/** The queue producers add task jobs through. */
export class TaskQueue extends Queue {
  protected override get Job(): typeof Job {
    return TaskJob as typeof Job;
  }
}

/** The flow producer fan-out groups are added through. */
export class TaskFlowProducer extends FlowProducer {
  protected override get Job(): typeof Job {
    return TaskJob as typeof Job;
  }
}
