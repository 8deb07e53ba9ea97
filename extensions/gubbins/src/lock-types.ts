import { registerLockObjectType } from "diracx-tasks";

/** Locks scoped to one lollygag owner (e.g. `new MutexLock(LOLLYGAG, ownerName)`). */
export const LOLLYGAG = registerLockObjectType("lollygag");
