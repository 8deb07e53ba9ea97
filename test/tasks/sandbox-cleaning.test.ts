import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { SandboxMetadataDB } from "../../src/db/sql/sandbox-metadata-db.ts";
import { DirectorySandboxStore } from "../../src/sandbox/directory-store.ts";
import { openSandboxStore } from "../../src/sandbox/open.ts";
import { makeSandboxPfn, s3KeyFromPfn } from "../../src/sandbox/pfn.ts";
import { SandboxStoreSettings } from "../../src/sandbox/settings.ts";
import type { SandboxStore } from "../../src/sandbox/store.ts";
import { cleanSandboxes } from "../../tasks/sandbox/clean-sandbox-store.ts";
import { S3Server } from "../support/s3.ts";
import { setupTaskEnv, type TaskEnv } from "./harness.ts";

const OWNER = { owner: "alice", ownerGroup: "lhcb_user", vo: "lhcb" };
const DAY = 86_400_000;

function pfnFor(bucket: string, name: string): string {
  return makeSandboxPfn({ bucket, vo: "lhcb", group: "lhcb_user", user: "alice", checksum: createHash("sha256").update(name).digest("hex"), format: "tar.bz2" });
}

interface Arranged {
  deleted: string[];
  kept: string[];
}

/**
 * Six sandboxes, files in the store: an orphan (assigned, mapping gone), two unassigned for 20
 * days — to be deleted — and one in use, one unassigned yesterday, one on another SE — kept.
 */
async function arrange(db: SandboxMetadataDB, store: SandboxStore, bucket: string): Promise<Arranged> {
  const se = "SandboxSE";
  const names = ["inUse", "orphan", "old1", "recent", "otherSE", "old2"];
  const pfn = Object.fromEntries(names.map((n) => [n, pfnFor(bucket, n)]));
  for (const n of names) {
    await db.insertSandbox(n === "otherSE" ? "OtherSE" : se, OWNER, pfn[n]!, 10);
    await store.putObject(s3KeyFromPfn(pfn[n]!), `content of ${n}`);
  }
  await db.assignSandboxToJobs([1], pfn.inUse!, "Input", se);
  await db.assignSandboxToJobs([2], pfn.orphan!, "Output", se);
  // The job using it vanished without unassigning: the mapping is gone, Assigned is still set.
  await db.db.deleteFrom("sb_EntityMapping").where("EntityId", "=", "Job:2").execute();
  const old = new Date(Date.now() - 20 * DAY);
  for (const n of ["old1", "old2", "otherSE"]) await db.updateSandboxLastAccessTime(n === "otherSE" ? "OtherSE" : se, pfn[n]!, old);
  await db.updateSandboxLastAccessTime(se, pfn.recent!, new Date(Date.now() - DAY));
  return { deleted: ["orphan", "old1", "old2"].map((n) => pfn[n]!), kept: ["inUse", "recent", "otherSE"].map((n) => pfn[n]!) };
}

async function remainingPfns(db: SandboxMetadataDB): Promise<string[]> {
  return (await db.db.selectFrom("sb_SandBoxes").select("SEPFN").execute()).map((r) => r.SEPFN).sort();
}

async function assertCleaned(te: TaskEnv, store: SandboxStore, arranged: Arranged): Promise<void> {
  const db = SandboxMetadataDB.fromEnv(te.env);
  // Batches of 2 with delete chunks of 1: the cursor has to carry the run through three batches.
  const count = await te.runOk<number>("sandbox:CleanSandboxStoreTask");
  assert.equal(count, 3);
  assert.deepEqual(await remainingPfns(db), [...arranged.kept].sort());
  for (const p of arranged.deleted) assert.equal(await store.exists(s3KeyFromPfn(p)), false, `${p} deleted from the store`);
  for (const p of arranged.kept) assert.equal(await store.exists(s3KeyFromPfn(p)), true, `${p} kept in the store`);
  assert.equal(await te.runOk<number>("sandbox:CleanSandboxStoreTask"), 0, "a second run finds nothing");
}

const batching = { DIRACX_SANDBOX_STORE_CLEAN_BATCH_SIZE: "2", DIRACX_SANDBOX_STORE_CLEAN_DELETE_CHUNK_SIZE: "1" };

describe("sandbox cleaning against the directory store (PGlite)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "diracx-sb-"));
  let te: TaskEnv;
  before(async () => {
    te = await setupTaskEnv({ backend: "pglite", extraEnv: { ...batching, DIRACX_SANDBOX_STORE_DIRECTORY: dir } });
  });
  after(async () => {
    await te.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("deletes orphaned and long-unused sandboxes, files and rows, and nothing else", async () => {
    const store = new DirectorySandboxStore(dir);
    await assertCleaned(te, store, await arrange(SandboxMetadataDB.fromEnv(te.env), store, "sandboxes"));
  });

  it("keeps the row of a file the store cannot delete, and deletes the others", async () => {
    const db = SandboxMetadataDB.fromEnv(te.env);
    const store = new DirectorySandboxStore(dir);
    const stuck = pfnFor("sandboxes", "stuck");
    const fine = pfnFor("sandboxes", "fine");
    for (const p of [stuck, fine]) {
      await db.insertSandbox("SandboxSE", OWNER, p, 1);
      await db.updateSandboxLastAccessTime("SandboxSE", p, new Date(Date.now() - 30 * DAY));
    }
    await store.putObject(s3KeyFromPfn(fine), "x");
    // A non-empty directory where the file should be: every delete of that key fails.
    await store.putObject(`${s3KeyFromPfn(stuck)}/inside`, "x");
    const settings = SandboxStoreSettings.fromEnv(te.env);
    let tries = 0;
    const res = await cleanSandboxes(db, store, { settings, retry: { baseDelayMs: 0, sleep: async () => void tries++ } });
    assert.deepEqual(res, { deleted: 1, kept: 1 });
    assert.equal(tries, 4, "the failing key alone was retried, up to 5 attempts");
    const left = await remainingPfns(db);
    assert.ok(left.includes(stuck) && !left.includes(fine));
  });
});

describe("sandbox cleaning against an S3 server (PostgreSQL)", () => {
  let s3: S3Server;
  let te: TaskEnv;
  before(async () => {
    s3 = await S3Server.start(["sandboxes"]);
    te = await setupTaskEnv({
      backend: "postgresql",
      extraEnv: { ...batching, DIRACX_SANDBOX_STORE_BUCKET_NAME: "sandboxes", DIRACX_SANDBOX_STORE_S3_CLIENT_KWARGS: JSON.stringify(s3.clientKwargs) },
    });
  });
  after(async () => {
    await te.close();
    await s3.stop();
  });

  it("deletes the objects with S3 DeleteObjects and then the rows", async () => {
    const store = await openSandboxStore(SandboxStoreSettings.fromEnv(te.env));
    try {
      await assertCleaned(te, store, await arrange(SandboxMetadataDB.fromEnv(te.env), store, "sandboxes"));
    } finally {
      await store.close();
    }
  });
});
