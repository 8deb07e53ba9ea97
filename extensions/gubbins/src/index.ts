export { GubbinsJobDB, type GubbinsJobDBSchema, type JdlWithInfo } from "./db/job-db.ts";
export { LollygagDB, type LollygagDBSchema, type Car } from "./db/lollygag-db.ts";
export { MyPilotDB, MY_PILOT_STATUSES, type MyPilotDBSchema, type MyPilotStatus, type AvailableCe, type MyPilot } from "./db/my-pilot-db.ts";
export { SyncOwnersTask, OwnerCleanupTask, OwnerReportTask, type OwnerReport } from "./tasks/lollygag.ts";
export { MyPilotTask, MySubmitPilotsTask, MyCheckPilotsTask, MyPilotReportTask, PilotSubmissionError, setRandomSource, type PilotTransitions } from "./tasks/my-pilots.ts";
