import fs from "node:fs";
import path from "node:path";
import { DBConfigurationError } from "../errors.ts";

/** The lock file a process keeps in a PGlite data directory while it has the database open. */
const LOCK_FILE = "diracx-tasks.pid";

/** Directories this process holds → lock file and how many engines use it. */
const held = new Map<string, { file: string; users: number }>();
let exitHookInstalled = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Claims a PGlite data directory for this process. PGlite is an embedded, single-process
 * PostgreSQL: a second process opening the same directory corrupts it or aborts with an
 * unreadable error (`[object Object]`, `Aborted()`), so it is refused here with one line
 * naming the directory and the process holding it. A lock left by a dead process is taken over.
 */
export function claimPgliteDir(dir: string): void {
  const mine = held.get(dir);
  if (mine) {
    mine.users++;
    return;
  }
  const file = path.join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      held.set(dir, { file, users: 1 });
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.once("exit", () => {
          for (const [d, h] of [...held]) {
            h.users = 1;
            releasePgliteDir(d);
          }
        });
      }
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const pid = Number(fs.readFileSync(file, "utf8").trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new DBConfigurationError(
        `PGlite database ${dir} is already open in process ${pid}: PGlite allows one process per directory (stop that process, point this one at another directory, or use PostgreSQL for several processes)`,
      );
    }
    fs.rmSync(file, { force: true }); // left by a process that is gone
  }
  throw new DBConfigurationError(`cannot claim PGlite database ${dir}: its lock file ${file} keeps reappearing`);
}

/** Gives the directory up (the engine is closed). */
export function releasePgliteDir(dir: string): void {
  const h = held.get(dir);
  if (!h || --h.users > 0) return;
  held.delete(dir);
  const file = h.file;
  try {
    if (fs.readFileSync(file, "utf8").trim() === String(process.pid)) fs.rmSync(file, { force: true });
  } catch {
    // already gone
  }
}
