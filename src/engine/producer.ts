import { randomUUID } from "node:crypto";
import { FlowProducer, Queue, type JobsOptions } from "bullmq";
import type { BrokerConnection } from "../redis-cluster.ts";
import { ZodObject, type z } from "zod";
import { DiracxError } from "../errors.ts";
import { TasksSettings } from "../settings.ts";
import { connectBroker } from "./connection.ts";
import { injectTraceContext } from "../observability/tracing.ts";
import { spawnWithCallback, type FanoutHandle, type SpawnOptions } from "./fanout.ts";
import type { BulkItem, PreparedJob, TaskJobData } from "./job-data.ts";
import { BULL_PREFIX } from "./keys.ts";
import { bullmqPriority, queueNameFor, SIZES, type Priority, type Size } from "./priorities.ts";
import type { SubmitOptions } from "./producer-types.ts";
import { BACKOFF_TYPE, MAX_ATTEMPTS } from "./retry-strategy.ts";
import { classOf, type AnyTask, type TaskClass, type TaskSubmitter } from "./task.ts";
import type { TaskRegistry } from "./task-registry.ts";

export class InvalidTaskArgsError extends DiracxError {}

/** How long finished tasks stay inspectable in Redis. */
export interface Retention {
  completedSeconds: number;
  failedSeconds: number;
}

/** The data of a fresh task job: its validated args and the per-task record the worker fills. */
export function newTaskJobData(args: Record<string, unknown>, labels: Record<string, string>, parentTaskId?: string): TaskJobData {
  return { args, meta: { firstSubmittedAt: Date.now(), labels, deferrals: 0, history: [], ...(parentTaskId ? { parentTaskId } : {}) } };
}

/**
 * The BullMQ options every task job gets, whoever submits it (producer, flows, scheduler).
 * Retries are decided by the task's policy through the worker's custom backoff strategy
 * (it sees the real error); `attempts` is only a ceiling.
 */
export function taskJobOptions(priority: Priority, retention: Retention): JobsOptions {
  const p = bullmqPriority(priority);
  return {
    ...(p !== undefined ? { priority: p } : {}),
    attempts: MAX_ATTEMPTS,
    backoff: { type: BACKOFF_TYPE },
    removeOnComplete: { age: retention.completedSeconds },
    removeOnFail: { age: retention.failedSeconds },
  };
}

/** Job retention from the task system's settings (a bad DIRACX_TASKS_* value is refused there). */
export function retentionFromEnv(env: NodeJS.ProcessEnv = process.env): Retention {
  const s = TasksSettings.fromEnv(env);
  return { completedSeconds: s.keepCompletedSeconds, failedSeconds: s.keepFailedSeconds };
}

export interface ProducerOptions {
  /** A Redis URL or a connection (ioredis with maxRetriesPerRequest: null). */
  connection: string | BrokerConnection;
  registry: TaskRegistry;
  retention?: Retention;
}

export type { BulkItem, PreparedJob };

/** Validates args against the task's schema; the error lists every bad path. */
export function validateArgs(id: string, cls: TaskClass, args: unknown): Record<string, unknown> {
  // zod strips unknown keys by default, which silently dropped a misspelt field; a schema that
  // sets its own policy (looseObject, strictObject, catchall) keeps it.
  const schema = cls.args as z.ZodType;
  if (schema instanceof ZodObject && schema.def.catchall === undefined && typeof args === "object" && args !== null && !Array.isArray(args)) {
    const unknown = Object.keys(args).filter((k) => !(k in schema.shape));
    if (unknown.length > 0) {
      const known = Object.keys(schema.shape);
      throw new InvalidTaskArgsError(`invalid arguments for task '${id}': unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `'${k}'`).join(", ")} (fields: ${known.join(", ") || "none"})`);
    }
  }
  const result = schema.safeParse(args ?? {});
  if (result.success) return result.data as Record<string, unknown>;
  const problems = result.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(root)"}: ${i.message}`);
  throw new InvalidTaskArgsError(`invalid arguments for task '${id}': ${problems.join("; ")}`);
}

/**
 * Puts tasks on the queues: one BullMQ queue per size, each task in the queue
 * of its OWN size at its OWN priority, whoever submits it (upstream sent
 * spawned children to normal:medium).
 */
export class Producer implements TaskSubmitter {
  readonly registry: TaskRegistry;
  readonly connection: BrokerConnection;
  private readonly ownsConnection: boolean;
  private readonly queues = new Map<Size, Queue>();
  private readonly retention: Retention;
  private flowProducer: FlowProducer | undefined;

  constructor(opts: ProducerOptions) {
    this.registry = opts.registry;
    this.ownsConnection = typeof opts.connection === "string";
    this.connection = typeof opts.connection === "string" ? connectBroker(opts.connection, "diracx-tasks:producer") : opts.connection;
    this.retention = opts.retention ?? retentionFromEnv();
  }

  queue(size: Size): Queue {
    let q = this.queues.get(size);
    if (!q) {
      q = new Queue(queueNameFor(size), { connection: this.connection, prefix: BULL_PREFIX });
      q.on("error", () => {}); // connection errors are retried by ioredis; commands wait for it
      this.queues.set(size, q);
    }
    return q;
  }

  allQueues(): Queue[] {
    return SIZES.map((s) => this.queue(s));
  }

  /** Validates and enqueues one task; returns its task id. */
  async submit(task: string | TaskClass, args: unknown, opts: SubmitOptions = {}): Promise<string> {
    const job = this.prepare({ task, args, opts });
    await this.queue(job.size).add(job.name, job.data, job.opts);
    return job.opts.jobId as string;
  }

  /**
   * `task.schedule()` lands here. The task goes out under the id its class is known by, so
   * the worker runs whatever is registered under that id (an extension's replacement too).
   */
  async submitInstance(task: AnyTask, opts: SubmitOptions = {}): Promise<string> {
    return this.submit(classOf(task), task.args, opts);
  }

  /** Validates every item first (nothing is enqueued if one is bad), then one addBulk per size. */
  async submitBulk(items: BulkItem[]): Promise<string[]> {
    const prepared = items.map((it) => this.prepare(it));
    for (const size of SIZES) {
      const batch = prepared.filter((p) => p.size === size);
      if (batch.length) await this.queue(size).addBulk(batch.map((p) => ({ name: p.name, data: p.data, opts: p.opts })));
    }
    return prepared.map((p) => p.opts.jobId as string);
  }

  /** The FlowProducer fan-out groups are submitted through (src/engine/fanout.ts). */
  flows(): FlowProducer {
    this.flowProducer ??= new FlowProducer({ connection: this.connection, prefix: BULL_PREFIX });
    return this.flowProducer;
  }

  /** Fan-out/fan-in: children in their own queues, `callback` once all have finished (see fanout.ts). */
  async spawnWithCallback(children: readonly AnyTask[], callback: AnyTask, opts: SpawnOptions = {}): Promise<FanoutHandle> {
    return spawnWithCallback(this, children, callback, opts);
  }

  /** Validated job (name, data, options, size) for one task; shared by submit, bulk and flows. */
  prepare(item: BulkItem): PreparedJob {
    const { id, cls } = this.registry.resolve(item.task);
    const args = validateArgs(id, cls, item.args);
    const o = item.opts ?? {};
    let delay = o.delay ?? 0;
    if (o.at) delay = Math.max(delay, o.at.getTime() - Date.now());
    if (!Number.isFinite(delay) || delay < 0) throw new DiracxError(`submit ${id}: delay must be a non-negative number of ms, got ${o.delay}`);
    const labels = { ...(o.labels ?? {}) };
    if (typeof args.vo === "string" && !labels.vo) labels.vo = args.vo;
    const data = newTaskJobData(args, labels, o.parentTaskId);
    injectTraceContext(data.meta); // tracing hook: the creation context travels in the task's own data
    const opts: JobsOptions = {
      jobId: o.taskId ?? randomUUID(),
      ...taskJobOptions(cls.priority, this.retention),
      ...(delay > 0 ? { delay: Math.round(delay) } : {}),
    };
    return { size: cls.size, name: id, data, opts };
  }

  async close(): Promise<void> {
    await this.flowProducer?.close();
    this.flowProducer = undefined;
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
    if (this.ownsConnection) this.connection.disconnect();
  }
}
