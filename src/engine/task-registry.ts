import { DiracxError } from "../errors.ts";
import { loadTaskClass, type Registry, taskEntries } from "../registry/index.ts";
import { isTaskClass, type TaskClass } from "./task.ts";
import { closestNames } from "../did-you-mean.ts";

export class UnknownTaskError extends DiracxError {}
export class TaskRegistrationError extends DiracxError {}

/** Task classes by id `<category>:<ClassName>`; resolves names for the producer, worker and CLI. */
export class TaskRegistry {
  private readonly byId: Map<string, TaskClass>;
  private readonly idByClass = new Map<TaskClass, string>();

  constructor(entries: Iterable<[string, TaskClass]>) {
    this.byId = new Map(entries);
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
    for (const { id, entry } of taskEntries(registry)) {
      const cls = await loadTaskClass(registry, entry);
      if (!isTaskClass(cls)) {
        throw new TaskRegistrationError(`entry '${entry.name}' of group '${entry.group}' in package '${entry.package}' (${entry.value}) is not a Task subclass`);
      }
      entries.push([id, cls]);
    }
    return new TaskRegistry(entries);
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

  /** The id a class is registered under (a subclass of a registered class is not registered). */
  idOf(cls: TaskClass): string {
    const id = this.idByClass.get(cls);
    if (id) return id;
    const sameName = this.ids().filter((i) => i.endsWith(`:${cls.name}`));
    throw new UnknownTaskError(
      `task class ${cls.name} is not registered under any diracx.tasks.<category> entry${sameName.length ? ` (registered with that name: ${sameName.join(", ")})` : ""}`,
    );
  }

  /** Accepts an id or a class. */
  resolve(task: string | TaskClass): { id: string; cls: TaskClass } {
    if (typeof task === "string") return { id: task, cls: this.get(task) };
    return { id: this.idOf(task), cls: task };
  }

  entries(): [string, TaskClass][] {
    return this.ids().map((id) => [id, this.byId.get(id) as TaskClass]);
  }
}
