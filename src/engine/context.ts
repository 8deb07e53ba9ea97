// The task context and the producer binding live with the task model (src/engine/task.ts),
// which names them and must not import a module that imports it back. Kept for importers.
export {
  bindDefaultProducer,
  currentBinding,
  ProducerNotBoundError,
  setDefaultProducer,
  withProducer,
  type TaskContext,
  type TaskSubmitter,
} from "./task.ts";
