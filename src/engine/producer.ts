import { randomUUID } from "node:crypto";
import type { FlowProducer, JobsOptions, Queue } from "bullmq";
import type { BrokerConnection } from "../redis-cluster.ts";
import { DiracxError } from "../errors.ts";
import { connectBroker } from "./connection.ts";
import { activeTraceContext, type TraceCarrier } from "../observability/tracing.ts";
import { TaskFlowProducer, TaskQueue } from "./task-job.ts";
import { spawnWithCallback, type FanoutHandle, type SpawnOptions } from "./fanout.ts";
import type { BulkItem, PreparedJob, StoredTaskJobData } from "./job-data.ts";
import { checkPayloadSize, DEFAULT_MAX_PAYLOAD_BYTES, JOB_DATA_VERSION, validateArgs } from "./job-validation.ts";
import { BULL_PREFIX } from "./keys.ts";
import { keepJobs, type Retention } from "./retention.ts";
import { bullmqPriority, queueNameFor, SIZES, type Priority, type Size } from "./priorities.ts";
import type { SubmitOptions } from "./producer-types.ts";
import { BACKOFF_TYPE, MAX_ATTEMPTS } from "./retry-strategy.ts";
import { classOf, type AnyTask, type TaskClass, type TaskSubmitter } from "./task.ts";
import type { TaskRegistry } from "./task-registry.ts";


/**
 * The data of a fresh task job: its validated args and, in `meta`, only what differs from a
 * fresh task's defaults (labels, parent, the creation's trace context), so that a small task's
 * job stays compact in Redis (job-data.ts `StoredTaskJobData`; the worker fills the rest in).
 */
export function newTaskJobData(args: Record<string, unknown>, labels: Record<string, string>, parentTaskId?: string, trace?: TraceCarrier): StoredTaskJobData {
  const meta: NonNullable<StoredTaskJobData["meta"]> = {};
  if (Object.keys(labels).length > 0) meta.labels = labels;
  if (parentTaskId) meta.parentTaskId = parentTaskId;
  if (trace) meta.trace = trace;
  return Object.keys(meta).length > 0 ? { v: JOB_DATA_VERSION, args, meta } : { v: JOB_DATA_VERSION, args };
}

/**
 * The BullMQ options every task job gets, whoever submits it (producer, flows, scheduler).
 * Retries are decided by the task's policy through the worker's custom backoff strategy
 * (it sees the real error); `attempts` is only a ceiling.
 */
export function taskJobOptions(priority: Priority, retention?: Retention): JobsOptions {
  const p = bullmqPriority(priority);
  return {
    ...(p !== undefined ? { priority: p } : {}),
    attempts: MAX_ATTEMPTS,
    backoff: { type: BACKOFF_TYPE },
    // Without an explicit retention the worker's applies (retention.ts): not repeated in every job.
    ...(retention ? keepJobs(retention) : {}),
  };
}

export interface ProducerOptions {
  /** A Redis URL or a connection (ioredis with maxRetriesPerRequest: null). */
  connection: string | BrokerConnection;
  registry: TaskRegistry;
  /** Retention carried by each job, overriding the workers' (default: none, the workers' applies). */
  retention?: Retention;
  /** Bound on a task's JSON-encoded arguments (default: DIRACX_TASKS_MAX_PAYLOAD_BYTES). */
  maxPayloadBytes?: number;
}

export type { BulkItem, PreparedJob, Retention };
export { retentionOf } from "./retention.ts";
// One home (job-validation.ts), exported here too where callers have always found them.
export { InvalidTaskArgsError, PayloadTooLargeError, validateArgs } from "./job-validation.ts";

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
  private readonly retention: Retention | undefined;
  readonly maxPayloadBytes: number;
  private flowProducer: FlowProducer | undefined;

  constructor(opts: ProducerOptions) {
    this.registry = opts.registry;
    this.ownsConnection = typeof opts.connection === "string";
    this.connection = typeof opts.connection === "string" ? connectBroker(opts.connection, "diracx-tasks:producer") : opts.connection;
    this.retention = opts.retention;
    this.maxPayloadBytes = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  }

  queue(size: Size): Queue {
    let q = this.queues.get(size);
    if (!q) {
      q = new TaskQueue(queueNameFor(size), { connection: this.connection, prefix: BULL_PREFIX });
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
    this.flowProducer ??= new TaskFlowProducer({ connection: this.connection, prefix: BULL_PREFIX });
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
    checkPayloadSize(id, args, this.maxPayloadBytes);
    const o = item.opts ?? {};
    let delay = o.delay ?? 0;
    if (o.at) delay = Math.max(delay, o.at.getTime() - Date.now());
    if (!Number.isFinite(delay) || delay < 0) throw new DiracxError(`submit ${id}: delay must be a non-negative number of ms, got ${o.delay}`);
    const labels = { ...(o.labels ?? {}) };
    if (typeof args.vo === "string" && !labels.vo) labels.vo = args.vo;
    // tracing hook: the creation context (none when tracing is off) travels in the task's own data
    const data = newTaskJobData(args, labels, o.parentTaskId, activeTraceContext());
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
