import { registerLockObjectType } from "diracx-tasks";

/** Locks scoped to one computing element of the pilot-submission example. */
export const MY_PILOT = registerLockObjectType("my_pilot");
