import { SandboxStoreError } from "./store.ts";

/*
 * One home for sandbox PFNs. DiracX stores a sandbox's location in SandboxMetadataDB as
 *   /S3/<bucket>/<vo>/<group>/<user>/<algo>:<checksum>.<format>
 * and hands it to clients as `SB:<SE name>|<pfn>`. The object key in the bucket is the
 * part after the bucket.
 */

/**
 * A well-formed sandbox PFN, optionally with its `SB:<se>|` prefix. (DiracX's pattern opens
 * with `(:?SB:…` — a typo for a non-capturing group that also admits a stray leading ':'; the
 * intended group is used here.)
 */
export const SANDBOX_PFN_REGEX = /^(?:SB:([A-Za-z]+)\|)?\/S3\/([a-z0-9.-]{3,63})((?:\/[^/]+){3})\/([a-z0-9]{3,10}):([0-9a-f]{64})\.([a-z0-9.]+)$/;

/** Sandbox archive formats the upload path accepts. */
export const SANDBOX_FORMATS = ["tar.bz2", "tar.zst"] as const;
export type SandboxFormat = (typeof SANDBOX_FORMATS)[number];

export interface SandboxPfn {
  /** The SE name of an `SB:<se>|…` reference, absent for a bare PFN. */
  seName?: string;
  bucket: string;
  vo: string;
  group: string;
  user: string;
  checksumAlgorithm: string;
  checksum: string;
  format: string;
  /** The object key in the bucket. */
  key: string;
  /** The PFN without the `SB:<se>|` prefix, as stored in the DB. */
  pfn: string;
}

export class InvalidSandboxPfnError extends SandboxStoreError {}

/** Parses a PFN that must be well formed (uploads, assignments); throws naming the PFN otherwise. */
export function parseSandboxPfn(pfn: string): SandboxPfn {
  const m = SANDBOX_PFN_REGEX.exec(pfn);
  if (!m) throw new InvalidSandboxPfnError(`invalid sandbox PFN ${JSON.stringify(pfn)}: expected [SB:<SE>|]/S3/<bucket>/<vo>/<group>/<user>/<algo>:<sha256 hex>.<format>`);
  const [, seName, bucket, owner, algo, checksum, format] = m as unknown as [string, string | undefined, string, string, string, string, string];
  const [vo, group, user] = owner.slice(1).split("/") as [string, string, string];
  const bare = seName === undefined ? pfn : pfn.slice(pfn.indexOf("|") + 1);
  return {
    ...(seName === undefined ? {} : { seName }),
    bucket,
    vo,
    group,
    user,
    checksumAlgorithm: algo,
    checksum,
    format,
    key: bare.split("/").slice(3).join("/"),
    pfn: bare,
  };
}

export function isValidSandboxPfn(pfn: string): boolean {
  return SANDBOX_PFN_REGEX.test(pfn);
}

/**
 * The S3 location of any stored `/S3/<bucket>/<key>` PFN. Deliberately looser than
 * `parseSandboxPfn`: the cleaner selects rows by `SEPFN LIKE '/S3/%'`, and a row written by
 * an older DIRAC with another key layout must still have its file deleted, not be skipped.
 */
export function s3LocationFromPfn(pfn: string): { bucket: string; key: string } {
  const bare = pfn.startsWith("SB:") && pfn.includes("|") ? pfn.slice(pfn.indexOf("|") + 1) : pfn;
  const parts = bare.split("/");
  // ["", "S3", bucket, ...key]
  if (parts[0] !== "" || parts[1] !== "S3" || !parts[2] || parts.length < 4 || parts.slice(3).some((p) => p === "")) {
    throw new InvalidSandboxPfnError(`sandbox PFN ${JSON.stringify(pfn)} is not of the form /S3/<bucket>/<key>`);
  }
  return { bucket: parts[2], key: parts.slice(3).join("/") };
}

/** The S3 key of a stored PFN (see `s3LocationFromPfn`). */
export function s3KeyFromPfn(pfn: string): string {
  return s3LocationFromPfn(pfn).key;
}

/** Builds the PFN DiracX stores for an uploaded sandbox. */
export function makeSandboxPfn(p: { bucket: string; vo: string; group: string; user: string; checksum: string; format: string; checksumAlgorithm?: string }): string {
  const pfn = `/S3/${p.bucket}/${p.vo}/${p.group}/${p.user}/${p.checksumAlgorithm ?? "sha256"}:${p.checksum}.${p.format}`;
  parseSandboxPfn(pfn);
  return pfn;
}

/** The `SB:<se>|<pfn>` reference clients and JDLs use. */
export function sandboxReference(seName: string, pfn: string): string {
  return `SB:${seName}|${pfn}`;
}
