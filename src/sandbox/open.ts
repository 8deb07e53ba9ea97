import { DirectorySandboxStore } from "./directory-store.ts";
import { sandboxStoreEnvVar, type SandboxStoreSettingsValues } from "./settings.ts";
import { SandboxStoreError, type SandboxStore } from "./store.ts";

/**
 * The store the settings select: S3 when a bucket is named, else the directory store.
 * `defaultDirectory` is the embedded default that `diracx-tasks dev` passes; without it a
 * process with neither variable set fails here, naming both, rather than deleting from or
 * writing into some implicit directory.
 */
export async function openSandboxStore(
  settings: Pick<SandboxStoreSettingsValues, "bucketName" | "s3ClientKwargs" | "directory">,
  opts: { defaultDirectory?: string; maxConcurrentRequests?: number } = {},
): Promise<SandboxStore> {
  if (settings.bucketName) {
    // Loaded on demand: the AWS SDK is large and most commands never touch the store.
    const { S3SandboxStore } = await import("./s3-store.ts");
    return new S3SandboxStore({
      bucket: settings.bucketName,
      ...(settings.s3ClientKwargs ? { clientConfig: settings.s3ClientKwargs } : {}),
      ...(opts.maxConcurrentRequests ? { maxConcurrentRequests: opts.maxConcurrentRequests } : {}),
    });
  }
  const directory = settings.directory ?? opts.defaultDirectory;
  if (directory) return new DirectorySandboxStore(directory);
  throw new SandboxStoreError(`no sandbox store configured: set ${sandboxStoreEnvVar("bucketName")} (S3) or ${sandboxStoreEnvVar("directory")} (local directory)`);
}
