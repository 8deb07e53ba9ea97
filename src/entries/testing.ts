// `diracx-tasks/testing`: running one attempt of a task in-process (no queue), with or without
// real dependencies, and resetting the process-wide registry between cases.
export { runAttempt, openNoDependencies, type AttemptOutcome } from "../engine/execution.ts";
export { TaskRegistry } from "../engine/task-registry.ts";
export { loadRegistry, resetRegistryCache } from "../registry/index.ts";
