import { DiracxError } from "../errors.ts";
import { logger } from "../logging.ts";
import { loadTaskClass, type Registry, taskEntries } from "../registry/index.ts";
import type { KnownTasks } from "../config/config-check.ts";
import { isPeriodicTaskClass, isTaskClass, isVoAwareTaskClass, type TaskClass } from "./task.ts";
import { closestNames } from "../did-you-mean.ts";

export class UnknownTaskError extends DiracxError {}
export class TaskRegistrationError extends DiracxError {}

/**
 * Task classes by id `<category>:<ClassName>`: the one lookup the producer, worker, scheduler
 * and CLI resolve tasks through. A task is always resolved by its id: a class that an extension
 * replaced (core's `OptimizeJobsTask` under `jobs:OptimizeJobsTask`) still knows its id, and
 * whatever is submitted under that id runs as the registered class.
 */
export class TaskRegistry {
  private readonly byId: Map<string, TaskClass>;
  private readonly idByClass = new Map<TaskClass, string>();

  /** `replaced`: classes shadowed by a higher-priority entry under the same id. */
  constructor(entries: Iterable<[string, TaskClass]>, replaced: Iterable<[string, TaskClass]> = []) {
    this.byId = new Map(entries);
    for (const [id, cls] of replaced) this.idByClass.set(cls, id);
    for (const [id, cls] of this.byId) this.idByClass.set(cls, id);
  }

  /** Explicit registration (tests, embedding): `{ "test:Sleep": Sleep }`. */
  static fromClasses(classes: Record<string, TaskClass>): TaskRegistry {
    return new TaskRegistry(Object.entries(classes));
  }

  /**
   * Loads every `diracx.tasks.<category>` entry. The registry already orders
   * entries extension-first and keeps the first per name, so an extension
   * replaces a core task by reusing its group and class name.
   */
  static async load(registry: Registry): Promise<TaskRegistry> {
    const entries: [string, TaskClass][] = [];
    const replaced: [string, TaskClass][] = [];
    for (const { id, entry } of taskEntries(registry)) {
      const cls = await loadTaskClass(registry, entry);
      if (!isTaskClass(cls)) {
        throw new TaskRegistrationError(`entry '${entry.name}' of group '${entry.group}' in package '${entry.package}' (${entry.value}) is not a Task subclass`);
      }
      entries.push([id, cls]);
      // The classes it replaces still submit under this id (core code calling
      // `new OptimizeJobsTask(…).schedule()` must reach the extension's task).
      for (const shadowed of registry.candidates(entry.group, entry.name).slice(1)) {
        try {
          const old = await loadTaskClass(registry, shadowed);
          if (isTaskClass(old) && old !== cls) replaced.push([id, old]);
        } catch (err) {
          // Never run, so not fatal; but code submitting through that class would fail, so say it.
          logger.warn({ package: shadowed.package, group: shadowed.group, entry: shadowed.name, err: (err as Error).message }, "replaced task entry cannot be loaded; its class cannot submit");
        }
      }
    }
    return new TaskRegistry(entries, replaced);
  }

  ids(): string[] {
    return [...this.byId.keys()].sort();
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The class for an id; unknown ids fail with the closest known names. */
  get(id: string): TaskClass {
    const cls = this.byId.get(id);
    if (cls) return cls;
    const close = closestNames(id, this.ids());
    const hint = close.length ? `did you mean ${close.map((n) => `'${n}'`).join(", ")}?` : `known tasks: ${this.ids().join(", ") || "(none)"}`;
    throw new UnknownTaskError(`unknown task '${id}'; ${hint}`);
  }

  /**
   * The id a class is registered under, or was before an extension replaced it (a subclass of a
   * registered class is not registered by being one).
   */
  idOf(cls: TaskClass): string {
    const id = this.idByClass.get(cls);
    if (id) return id;
    const sameName = this.ids().filter((i) => i.endsWith(`:${cls.name}`));
    throw new UnknownTaskError(
      `task class ${cls.name} is not registered under any diracx.tasks.<category> entry${sameName.length ? ` (registered with that name: ${sameName.join(", ")})` : ""}`,
    );
  }

  /**
   * Accepts an id or a class; either way the class is the one registered under the id, so a
   * replaced class is validated, sized and prioritised as its replacement.
   */
  resolve(task: string | TaskClass): { id: string; cls: TaskClass } {
    const id = typeof task === "string" ? task : this.idOf(task);
    return { id, cls: this.get(id) };
  }

  entries(): [string, TaskClass][] {
    return this.ids().map((id) => [id, this.byId.get(id) as TaskClass]);
  }

  /** The ids a tasks configuration is checked against (`checkTasksConfigSource`). */
  known(): KnownTasks {
    const entries = this.entries();
    return {
      taskIds: entries.map(([id]) => id),
      periodicTaskIds: entries.filter(([, cls]) => isPeriodicTaskClass(cls)).map(([id]) => id),
      voTaskIds: entries.filter(([, cls]) => takesVo(cls)).map(([id]) => id),
    };
  }
}

/** Whether a `vo-overrides.<vo>` entry can apply to the task: one schedule per VO, or a `vo` argument (the producer labels it). */
function takesVo(cls: TaskClass): boolean {
  if (isVoAwareTaskClass(cls)) return true;
  const shape = (cls.args as { shape?: Record<string, unknown> }).shape;
  return shape !== undefined && "vo" in shape;
}
