export { GubbinsJobDB, type GubbinsJobDBSchema, type JdlWithInfo } from "./db/job-db.ts";
export { LollygagDB, type LollygagDBSchema, type Car } from "./db/lollygag-db.ts";
export { MyPilotDB, MY_PILOT_STATUSES, type MyPilotDBSchema, type MyPilotStatus, type AvailableCe, type MyPilot } from "./db/my-pilot-db.ts";
