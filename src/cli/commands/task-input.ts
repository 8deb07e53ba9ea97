import { DiracxError } from "../../errors.ts";
import type { TaskClass } from "../../engine/task.ts";

/**
 * Builds a task payload from `--args` (a JSON list, mapped in order onto the
 * fields of the task's args schema) and `--kwargs` (a JSON object, by name).
 */
export function payloadFrom(cls: TaskClass, id: string, argsJson: string | undefined, kwargsJson: string | undefined): Record<string, unknown> {
  const parse = (flag: string, text: string): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new DiracxError(`${flag} is not valid JSON: ${(err as Error).message}`);
    }
  };
  const payload: Record<string, unknown> = {};
  if (argsJson !== undefined) {
    const list = parse("--args", argsJson);
    if (!Array.isArray(list)) throw new DiracxError(`--args must be a JSON list, got ${argsJson}`);
    const fields = Object.keys(cls.args.shape);
    if (list.length > fields.length) {
      throw new DiracxError(`--args has ${list.length} values but task '${id}' takes ${fields.length} (${fields.join(", ") || "none"})`);
    }
    list.forEach((v, i) => (payload[fields[i] as string] = v));
  }
  if (kwargsJson !== undefined) {
    const obj = parse("--kwargs", kwargsJson);
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new DiracxError(`--kwargs must be a JSON object, got ${kwargsJson}`);
    Object.assign(payload, obj);
  }
  return payload;
}
