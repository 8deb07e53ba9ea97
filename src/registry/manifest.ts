import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { RegistryError } from "./errors.ts";

/** The `diracx` field of a package.json. Strict, so a typo such as `entrypoints` is reported rather than ignored. */
const DiracxFieldSchema = z
  .object({
    supportedVersion: z.string().min(1).optional(),
    entryPoints: z.record(z.string(), z.record(z.string(), z.string())).default({}),
  })
  .strict();

export type DiracxField = z.infer<typeof DiracxFieldSchema>;

/** What discovery needs from a package.json. */
export interface PackageManifest {
  readonly name: string;
  readonly version: string;
  /** realpath of the package directory. */
  readonly root: string;
  readonly dependencies: readonly string[];
  readonly optionalDependencies: readonly string[];
  readonly peerDependencies: readonly string[];
  readonly workspaces: readonly string[];
  readonly diracx: DiracxField | undefined;
}

const PackageJsonSchema = z.looseObject({
  name: z.string().optional(),
  version: z.string().optional(),
  dependencies: z.record(z.string(), z.string()).optional(),
  optionalDependencies: z.record(z.string(), z.string()).optional(),
  peerDependencies: z.record(z.string(), z.string()).optional(),
  workspaces: z.union([z.array(z.string()), z.looseObject({ packages: z.array(z.string()).optional() })]).optional(),
  diracx: z.unknown().optional(),
});

function issuePath(issue: z.core.$ZodIssue): string {
  return issue.path.map((p) => String(p)).join(".");
}

/** Reads and validates one package.json; `root` must already be realpath'd. */
export function readManifest(root: string): PackageManifest {
  const file = path.join(root, "package.json");
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new RegistryError(`${file}: cannot read package.json: ${err instanceof Error ? err.message : String(err)}`);
  }
  const pkg = PackageJsonSchema.safeParse(raw);
  if (!pkg.success) {
    const issue = pkg.error.issues[0]!;
    throw new RegistryError(`${file}: ${issuePath(issue)}: ${issue.message}`);
  }
  // Packages without a name still matter as the application root (a private app package).
  const name = pkg.data.name ?? path.basename(root);
  let diracx: DiracxField | undefined;
  if (pkg.data.diracx !== undefined) {
    const parsed = DiracxFieldSchema.safeParse(pkg.data.diracx);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new RegistryError(`package '${name}' (${file}): diracx.${issuePath(issue)}: ${issue.message}`);
    }
    diracx = parsed.data;
  }
  const ws = pkg.data.workspaces;
  return {
    name,
    version: pkg.data.version ?? "0.0.0",
    root,
    dependencies: Object.keys(pkg.data.dependencies ?? {}),
    optionalDependencies: Object.keys(pkg.data.optionalDependencies ?? {}),
    peerDependencies: Object.keys(pkg.data.peerDependencies ?? {}),
    workspaces: Array.isArray(ws) ? ws : (ws?.packages ?? []),
    diracx,
  };
}
