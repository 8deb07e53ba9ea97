import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidSandboxPfnError, isValidSandboxPfn, makeSandboxPfn, parseSandboxPfn, s3KeyFromPfn, s3LocationFromPfn, sandboxReference } from "../../src/sandbox/index.ts";

const sha = "a".repeat(64);
const pfn = `/S3/sandboxes/lhcb/lhcb_user/alice/sha256:${sha}.tar.bz2`;

describe("sandbox PFNs", () => {
  test("the S3 key is the part after the bucket", () => {
    assert.equal(s3KeyFromPfn(pfn), `lhcb/lhcb_user/alice/sha256:${sha}.tar.bz2`);
    assert.deepEqual(s3LocationFromPfn(`SB:SandboxSE|${pfn}`), { bucket: "sandboxes", key: `lhcb/lhcb_user/alice/sha256:${sha}.tar.bz2` });
  });

  test("parses every part of a well-formed PFN, with or without the SB: prefix", () => {
    assert.deepEqual(parseSandboxPfn(`SB:SandboxSE|${pfn}`), {
      seName: "SandboxSE",
      bucket: "sandboxes",
      vo: "lhcb",
      group: "lhcb_user",
      user: "alice",
      checksumAlgorithm: "sha256",
      checksum: sha,
      format: "tar.bz2",
      key: `lhcb/lhcb_user/alice/sha256:${sha}.tar.bz2`,
      pfn,
    });
    assert.equal(parseSandboxPfn(pfn).seName, undefined);
  });

  test("refuses malformed PFNs, naming them", () => {
    for (const bad of [
      `/S3/sandboxes/lhcb/alice/sha256:${sha}.tar.bz2`, // owner path too short
      `/S3/Sandboxes/lhcb/g/u/sha256:${sha}.tar.bz2`, // bucket names are lower case
      `/S3/sandboxes/lhcb/g/u/sha256:${sha.slice(1)}.tar.bz2`, // checksum too short
      `:SB:SandboxSE|${pfn}`, // the upstream pattern's typo admitted a leading ':'
      `/S4/sandboxes/lhcb/g/u/sha256:${sha}.tar.bz2`,
    ]) {
      assert.equal(isValidSandboxPfn(bad), false, bad);
      assert.throws(() => parseSandboxPfn(bad), (e: unknown) => e instanceof InvalidSandboxPfnError && e.message.includes(JSON.stringify(bad)));
    }
  });

  test("the key mapping accepts older /S3/ layouts but not non-S3 PFNs", () => {
    assert.equal(s3KeyFromPfn("/S3/bucket/some/older/layout.tar"), "some/older/layout.tar");
    for (const bad of ["/S3/bucket", "/S3/bucket/", "/SE/bucket/x", "S3/bucket/x", "/S3//x", "/S3/bucket/a//b"]) {
      assert.throws(() => s3KeyFromPfn(bad), InvalidSandboxPfnError, bad);
    }
  });

  test("makeSandboxPfn builds what parseSandboxPfn reads, and refuses bad parts", () => {
    const built = makeSandboxPfn({ bucket: "sandboxes", vo: "lhcb", group: "lhcb_user", user: "alice", checksum: sha, format: "tar.bz2" });
    assert.equal(built, pfn);
    assert.equal(sandboxReference("SandboxSE", built), `SB:SandboxSE|${pfn}`);
    assert.throws(() => makeSandboxPfn({ bucket: "sandboxes", vo: "lhcb", group: "g/x", user: "alice", checksum: sha, format: "tar.bz2" }), InvalidSandboxPfnError);
  });
});
