import type { S3ClientConfig } from "@aws-sdk/client-s3";
import { z } from "zod";
import { defineSettings, envSuffix } from "../settings.ts";

/** `DIRACX_SANDBOX_STORE_*`, the same variables DiracX's services read. */
export const SANDBOX_STORE_PREFIX = "DIRACX_SANDBOX_STORE_";

/**
 * S3 client options as JSON. The JavaScript SDK's names are the native form; the boto3
 * names an existing DiracX deployment already sets in this variable (`endpoint_url`,
 * `aws_access_key_id`, …) are accepted too, so the same environment serves both.
 * Unknown keys are refused: a misspelt `endpoint` would otherwise silently talk to AWS.
 */
const S3ClientKwargsSchema = z
  .strictObject({
    endpoint: z.string().url().optional(),
    region: z.string().optional(),
    forcePathStyle: z.boolean().optional(),
    credentials: z.strictObject({ accessKeyId: z.string(), secretAccessKey: z.string(), sessionToken: z.string().optional() }).optional(),
    endpoint_url: z.string().url().optional(),
    region_name: z.string().optional(),
    aws_access_key_id: z.string().optional(),
    aws_secret_access_key: z.string().optional(),
    aws_session_token: z.string().optional(),
  })
  .transform((k): S3ClientConfig => {
    const endpoint = k.endpoint ?? k.endpoint_url;
    const credentials =
      k.credentials ??
      (k.aws_access_key_id && k.aws_secret_access_key
        ? { accessKeyId: k.aws_access_key_id, secretAccessKey: k.aws_secret_access_key, ...(k.aws_session_token ? { sessionToken: k.aws_session_token } : {}) }
        : undefined);
    return {
      ...(endpoint ? { endpoint } : {}),
      // The SDK insists on a region even for MinIO/Ceph; boto defaults it, so do we.
      region: k.region ?? k.region_name ?? "us-east-1",
      // Self-hosted S3 servers rarely have wildcard DNS for virtual-host buckets.
      forcePathStyle: k.forcePathStyle ?? endpoint !== undefined,
      ...(credentials ? { credentials } : {}),
    };
  });

export const sandboxStoreSettingsSchema = z.object({
  /** The SE name sandboxes are registered under in SandboxMetadataDB. */
  seName: z.string().min(1).default("SandboxSE"),
  /** Selects the S3 store. */
  bucketName: z.string().min(3).optional(),
  s3ClientKwargs: S3ClientKwargsSchema.optional(),
  /** Selects the directory store (embedded default) when no bucket is set. */
  directory: z.string().min(1).optional(),
  cleanBatchSize: z.number().int().positive().default(50_000),
  /** Rows per DB delete transaction (S3 requests are always ≤ 1000 keys, whatever this is). */
  cleanDeleteChunkSize: z.number().int().positive().default(1000),
  cleanMaxConcurrentDbDeletes: z.number().int().positive().default(10),
});

export type SandboxStoreSettingsValues = z.output<typeof sandboxStoreSettingsSchema>;

/** `cleanBatchSize` → `DIRACX_SANDBOX_STORE_CLEAN_BATCH_SIZE`. */
export function sandboxStoreEnvVar(field: keyof SandboxStoreSettingsValues): string {
  return SANDBOX_STORE_PREFIX + envSuffix(field);
}

export class SandboxStoreSettings extends defineSettings(SANDBOX_STORE_PREFIX, sandboxStoreSettingsSchema) {}
