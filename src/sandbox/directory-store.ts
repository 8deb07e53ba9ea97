import fs from "node:fs/promises";
import path from "node:path";
import { describeError, SandboxStoreError, type DeleteObjectsResult, type FailedKey, type SandboxStore } from "./store.ts";

/**
 * The embedded sandbox store: each key is a relative path under one directory, laid out
 * as the S3 keys are (`<vo>/<group>/<user>/<algo>:<checksum>.<format>`). Used by
 * `diracx-tasks dev` and tests, so the cleaning task runs without an S3 server.
 */
export class DirectorySandboxStore implements SandboxStore {
  readonly root: string;

  constructor(directory: string) {
    this.root = path.resolve(directory);
  }

  get description(): string {
    return `dir:${this.root}`;
  }

  /**
   * The file for a key. Keys come from PFNs stored in the database; a key that is absolute
   * or climbs out with `..` must never reach `fs.rm`, so it is refused here, in one place.
   */
  pathOf(key: string): string {
    if (key === "" || key.includes("\0")) throw new SandboxStoreError(`sandbox key ${JSON.stringify(key)} is empty or contains a NUL byte (store ${this.description})`);
    if (path.isAbsolute(key) || key.split(/[\\/]/).includes("..")) {
      throw new SandboxStoreError(`sandbox key ${JSON.stringify(key)} is absolute or contains '..'; refused (store ${this.description})`);
    }
    const file = path.resolve(this.root, key);
    if (!file.startsWith(this.root + path.sep)) {
      throw new SandboxStoreError(`sandbox key ${JSON.stringify(key)} resolves outside ${this.root}; refused`);
    }
    return file;
  }

  async deleteObjects(keys: readonly string[]): Promise<DeleteObjectsResult> {
    const deleted: string[] = [];
    const failed: FailedKey[] = [];
    for (const key of keys) {
      let file: string;
      try {
        file = this.pathOf(key);
      } catch (err) {
        failed.push({ key, error: describeError(err), retryable: false });
        continue;
      }
      try {
        // `force`: an absent file counts as deleted, like S3 DeleteObjects.
        await fs.rm(file, { force: true });
        deleted.push(key);
      } catch (err) {
        failed.push({ key, error: describeError(err) });
      }
    }
    return { deleted, failed };
  }

  async putObject(key: string, body: string | Uint8Array): Promise<void> {
    const file = this.pathOf(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, body);
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await fs.stat(this.pathOf(key))).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
  }

  async close(): Promise<void> {}
}
