import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { chunked, mapConcurrent } from "./batching.ts";
import { describeError, SandboxStoreError, type DeleteObjectsResult, type FailedKey, type SandboxStore } from "./store.ts";

/** S3 refuses a DeleteObjects request with more keys than this. */
export const S3_MAX_KEYS_PER_DELETE = 1000;

export interface S3SandboxStoreOptions {
  bucket: string;
  /** Client options (endpoint, region, credentials, forcePathStyle); ignored when `client` is given. */
  clientConfig?: S3ClientConfig;
  client?: S3Client;
  /** DeleteObjects requests in flight at once for one `deleteObjects` call. */
  maxConcurrentRequests?: number;
}

/** The production sandbox store: one S3 bucket (any S3-protocol server). */
export class S3SandboxStore implements SandboxStore {
  readonly bucket: string;
  readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly maxConcurrentRequests: number;

  constructor(opts: S3SandboxStoreOptions) {
    if (!opts.bucket) throw new SandboxStoreError("S3 sandbox store needs a bucket name (DIRACX_SANDBOX_STORE_BUCKET_NAME)");
    this.bucket = opts.bucket;
    this.ownsClient = !opts.client;
    this.client = opts.client ?? new S3Client(opts.clientConfig ?? {});
    this.maxConcurrentRequests = opts.maxConcurrentRequests ?? 4;
  }

  get description(): string {
    return `s3://${this.bucket}`;
  }

  async deleteObjects(keys: readonly string[]): Promise<DeleteObjectsResult> {
    const results = await mapConcurrent(chunked(keys, S3_MAX_KEYS_PER_DELETE), this.maxConcurrentRequests, (chunk) => this.deleteChunk(chunk));
    return {
      deleted: results.flatMap((r) => r.deleted),
      failed: results.flatMap((r) => r.failed),
    };
  }

  private async deleteChunk(keys: string[]): Promise<DeleteObjectsResult> {
    try {
      // Quiet: the response lists only the errors, not the 1000 successes.
      const out = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }),
      );
      const failed: FailedKey[] = (out.Errors ?? []).map((e) => ({
        key: e.Key ?? "",
        error: [e.Code, e.Message].filter(Boolean).join(": ") || "unknown S3 error",
      }));
      const failedKeys = new Set(failed.map((f) => f.key));
      return { deleted: keys.filter((k) => !failedKeys.has(k)), failed };
    } catch (err) {
      // The whole request failed (network, throttling, auth): every key in it failed.
      const error = describeError(err);
      return { deleted: [], failed: keys.map((key) => ({ key, error })) };
    }
  }

  async putObject(key: string, body: string | Uint8Array): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body }));
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** For the dev demo and tests, where the server starts empty. */
  async createBucketIfMissing(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof S3ServiceException && (err.$metadata.httpStatusCode === 404 || err.name === "NotFound" || err.name === "NoSuchKey" || err.name === "NoSuchBucket");
}
