// DiracX bearer-token verification, as DiracX's routers do it: the token is signed by the
// DiracX auth service and checked against its JWKS (the keystore DiracX uses, or its published
// /.well-known/jwks.json), issuer and allowed algorithms; there is no audience, as upstream.
import fs from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createLocalJWKSet, createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWK, type JWTPayload } from "jose";
import { z } from "zod";
import { defineSettings, type Env } from "../settings.ts";
import { HttpError, HttpSetupError } from "./errors.ts";

export class AuthSettings extends defineSettings(
  "DIRACX_SERVICE_AUTH_",
  z.object({
    /** JWKS JSON, or a `file://` URL to one (DiracX's keystore; private members are ignored). */
    tokenKeystore: z.string().optional(),
    /** A remote JWKS (e.g. `https://diracx.example/.well-known/jwks.json`), cached; follows rotation. */
    tokenJwksUrl: z.string().url().optional(),
    tokenIssuer: z.string().optional(),
    tokenAllowedAlgorithms: z.array(z.string()).default(["RS256", "Ed25519"]),
  }),
) {}

/** Who made the request: DiracX's AuthorizedUserInfo. */
export interface AuthorizedUser {
  bearerToken: string;
  tokenId: string | undefined;
  sub: string;
  vo: string;
  diracGroup: string;
  properties: string[];
  preferredUsername: string;
  policies: Record<string, unknown>;
}

type KeyLike = Awaited<ReturnType<ReturnType<typeof createLocalJWKSet>>>;
type KeySetInput = Parameters<ReturnType<typeof createLocalJWKSet>>[1];
export type KeySet = (header: Parameters<ReturnType<typeof createLocalJWKSet>>[0], token: KeySetInput) => Promise<KeyLike>;

// Members only a private key has; a verifier must never hold them.
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

/**
 * The public part of each key, without `key_ops`: DiracX publishes `["sign","verify"]` on its
 * active key, which WebCrypto refuses for a public Ed25519 key. Keys that cannot verify are dropped.
 */
export function publicJwks(jwks: unknown): JSONWebKeySet {
  const keys = (jwks as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new HttpSetupError("JWKS has no 'keys' array");
  const out: JWK[] = [];
  for (const raw of keys as Record<string, unknown>[]) {
    if (!raw || typeof raw !== "object") continue;
    const ops = raw.key_ops;
    if (Array.isArray(ops) && !ops.includes("verify")) continue;
    if (raw.kty === "oct") continue;
    const key: Record<string, unknown> = { ...raw };
    for (const m of PRIVATE_MEMBERS) delete key[m];
    delete key.key_ops;
    if (key.use === "enc") continue;
    out.push(key as JWK);
  }
  return { keys: out };
}

async function readKeystore(value: string): Promise<unknown> {
  const text = value.trim().startsWith("file://") ? await fs.readFile(fileURLToPath(value.trim()), "utf8") : value;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpSetupError(`DIRACX_SERVICE_AUTH_TOKEN_KEYSTORE is not JSON: ${(err as Error).message}`);
  }
}

export interface TokenVerifier {
  /** Verifies the `Authorization` header's value and returns the user; throws HttpError 400/401. */
  verify(authorization: string | undefined): Promise<AuthorizedUser>;
  readonly issuer: string;
  readonly algorithms: readonly string[];
}

export interface VerifierOptions {
  /** Refuses tokens of VOs the configuration does not know (when given). */
  knownVo?: (vo: string) => boolean;
}

/** Builds the verifier from DIRACX_SERVICE_AUTH_*; a missing or unreadable setting refuses to start, naming it. */
export async function verifierFromEnv(env: Env = process.env, opts: VerifierOptions = {}): Promise<TokenVerifier> {
  const s = AuthSettings.fromEnv(env);
  const vars = AuthSettings.envVariables();
  if (!s.tokenIssuer) throw new HttpSetupError(`${vars.tokenIssuer} is not set (the issuer of the DiracX access tokens)`);
  let keys: KeySet;
  if (s.tokenKeystore) {
    keys = createLocalJWKSet(publicJwks(await readKeystore(s.tokenKeystore))) as KeySet;
  } else if (s.tokenJwksUrl) {
    keys = createRemoteJWKSet(new URL(s.tokenJwksUrl), {
      cacheMaxAge: 10 * 60_000,
      cooldownDuration: 30_000,
      [customFetch]: async (url: string, init: RequestInit) => {
        const res = await fetch(url, init);
        if (!res.ok) return res;
        return new Response(JSON.stringify(publicJwks(await res.json())), { status: res.status, headers: { "content-type": "application/json" } });
      },
    }) as KeySet;
  } else {
    throw new HttpSetupError(`neither ${vars.tokenKeystore} nor ${vars.tokenJwksUrl} is set: no key to verify DiracX tokens with`);
  }
  return tokenVerifier(keys, s.tokenIssuer, s.tokenAllowedAlgorithms, opts);
}

const BEARER = /^Bearer (.+)$/;

export function tokenVerifier(keys: KeySet, issuer: string, algorithms: readonly string[], opts: VerifierOptions = {}): TokenVerifier {
  return {
    issuer,
    algorithms,
    async verify(authorization) {
      if (authorization === undefined || authorization === "") {
        throw new HttpError(401, "Authorization header is missing", { "WWW-Authenticate": "Bearer" });
      }
      const m = BEARER.exec(authorization);
      if (!m) throw new HttpError(400, "Invalid authorization header");
      const token = m[1]!;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, { issuer, algorithms: [...algorithms], requiredClaims: ["sub", "exp"] }));
      } catch (err) {
        if (err instanceof joseErrors.JOSEError) throw new HttpError(401, "Invalid JWT", { "WWW-Authenticate": "Bearer" });
        throw err;
      }
      const user = userFromClaims(token, payload);
      if (!user) throw new HttpError(401, "Invalid JWT", { "WWW-Authenticate": "Bearer" });
      if (opts.knownVo && !opts.knownVo(user.vo)) throw new HttpError(401, `Token is for VO '${user.vo}', which is not in the configuration`, { "WWW-Authenticate": "Bearer" });
      return user;
    },
  };
}

const Claims = z.object({
  sub: z.string(),
  vo: z.string(),
  jti: z.string().optional(),
  dirac_group: z.string(),
  dirac_properties: z.array(z.string()).default([]),
  preferred_username: z.string().default(""),
  dirac_policies: z.record(z.string(), z.unknown()).default({}),
});

function userFromClaims(bearerToken: string, payload: JWTPayload): AuthorizedUser | undefined {
  const c = Claims.safeParse(payload);
  if (!c.success) return undefined;
  return {
    bearerToken,
    tokenId: c.data.jti,
    sub: c.data.sub,
    vo: c.data.vo,
    diracGroup: c.data.dirac_group,
    properties: c.data.dirac_properties,
    preferredUsername: c.data.preferred_username,
    policies: c.data.dirac_policies,
  };
}
