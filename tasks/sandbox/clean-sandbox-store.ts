import type { Logger } from "pino";
import {
  chunked,
  type ContextOf,
  CronSchedule,
  definePeriodicTask,
  deleteWithRetries,
  type DeleteWithRetriesOptions,
  depsOf,
  ExponentialBackoff,
  logger as rootLogger,
  mapConcurrent,
  noTransaction,
  openSandboxStore,
  s3KeyFromPfn,
  SandboxMetadataDB,
  type SandboxStore,
  SandboxStoreSettings,
  type SandboxStoreSettingsValues,
} from "diracx-tasks";

export interface CleanSandboxesOptions {
  settings: Pick<SandboxStoreSettingsValues, "seName" | "cleanBatchSize" | "cleanDeleteChunkSize" | "cleanMaxConcurrentDbDeletes">;
  /** Retry tuning of the store deletes (tests shorten the delays). */
  retry?: DeleteWithRetriesOptions;
  signal?: AbortSignal;
  logger?: Logger;
  now?: Date;
}

export interface CleanSandboxesResult {
  /** Sandboxes whose file and row are both gone. */
  deleted: number;
  /** Sandboxes whose file could not be deleted: their rows are kept for the next run. */
  kept: number;
}

/**
 * Deletes orphaned sandboxes (assigned, but every job using them is gone) and sandboxes
 * unassigned and unused for 15 days, from the store first and then from SandboxMetadataDB.
 * Files go before rows so that a crash in between leaves a row pointing at nothing (deleted
 * again next time, harmlessly) rather than a file no row remembers.
 *
 * `db` must not be inside a transaction: the selection and each chunk of row deletes are
 * short transactions of their own, so a run over millions of sandboxes holds no long lock
 * and keeps its progress if it fails half-way.
 */
export async function cleanSandboxes(db: SandboxMetadataDB, store: SandboxStore, opts: CleanSandboxesOptions): Promise<CleanSandboxesResult> {
  const { settings } = opts;
  const log = opts.logger ?? rootLogger;
  let cursor = 0;
  let deleted = 0;
  let kept = 0;
  for (;;) {
    opts.signal?.throwIfAborted();
    const batch = await db.transaction((tx) =>
      tx.selectSandboxesForDeletion({ seName: settings.seName, batchSize: settings.cleanBatchSize, cursor, ...(opts.now ? { now: opts.now } : {}) }),
    );
    if (batch.ids.length === 0) break;
    cursor = batch.cursor;

    const idsByKey = new Map<string, number[]>();
    const unparseable: number[] = [];
    batch.pfns.forEach((pfn, i) => {
      const id = batch.ids[i]!;
      try {
        const key = s3KeyFromPfn(pfn);
        idsByKey.set(key, [...(idsByKey.get(key) ?? []), id]);
      } catch (err) {
        // Kept: without a key we cannot know the file is gone.
        unparseable.push(id);
        log.error({ sbId: id, pfn, err: (err as Error).message }, "sandbox cleaning: PFN has no object key; row kept");
      }
    });
    const result = await deleteWithRetries(store, [...idsByKey.keys()], { ...opts.retry, ...(opts.signal ? { signal: opts.signal } : {}), logger: log });
    const failedKeys = new Set(result.failed.map((f) => f.key));
    const removable = [...idsByKey].filter(([key]) => !failedKeys.has(key)).flatMap(([, ids]) => ids);
    kept += batch.ids.length - removable.length;

    const counts = await mapConcurrent(chunked(removable, settings.cleanDeleteChunkSize), settings.cleanMaxConcurrentDbDeletes, (chunk) =>
      db.transaction((tx) => tx.deleteSandboxes(chunk)),
    );
    const n = counts.reduce((a, b) => a + b, 0);
    deleted += n;
    log.info({ selected: batch.ids.length, deleted: n, kept: batch.ids.length - removable.length, cursor }, "sandbox cleaning: batch done");
    if (batch.ids.length < settings.cleanBatchSize) break;
  }
  return { deleted, kept };
}

/**
 * Daily clean-up of the sandbox store (06:00). Background priority: it is never urgent and
 * should not delay interactive work of its size.
 */
export class CleanSandboxStoreTask extends definePeriodicTask({
  dependencies: { sandboxMetadataDB: noTransaction(SandboxMetadataDB), settings: SandboxStoreSettings },
  priority: "background",
  size: "medium",
  schedule: new CronSchedule("0 6 * * *"),
  retryPolicy: new ExponentialBackoff({ baseDelaySeconds: 300, maxRetries: 3 }),
}) {
  async execute(ctx: ContextOf<typeof CleanSandboxStoreTask>): Promise<number> {
    const { sandboxMetadataDB, settings } = depsOf(CleanSandboxStoreTask, ctx);
    const store = await openSandboxStore(settings);
    try {
      const { deleted, kept } = await cleanSandboxes(sandboxMetadataDB, store, { settings, signal: ctx.signal, logger: ctx.logger });
      if (kept > 0) ctx.logger.warn({ kept }, "sandbox cleaning: some files could not be deleted; their rows are kept for the next run");
      return deleted;
    } finally {
      await store.close();
    }
  }
}
