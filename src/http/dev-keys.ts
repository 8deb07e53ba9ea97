// A signing key and tokens in DiracX's format, for `dev` (which has no DiracX auth service to
// issue them) and for tests. The JWKS looks like DiracX's keystore: Ed25519, `key_ops` included.
import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from "jose";

export interface SigningKey {
  /** The keystore JSON (private key included), as DIRACX_SERVICE_AUTH_TOKEN_KEYSTORE takes it. */
  jwks: { keys: JWK[] };
  kid: string;
  alg: "Ed25519" | "RS256";
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
}

export async function generateSigningKey(alg: "Ed25519" | "RS256" = "Ed25519"): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID().replaceAll("-", "");
  const jwk = { ...(await exportJWK(privateKey)), kid, alg, key_ops: ["sign", "verify"] };
  return { jwks: { keys: [jwk] }, kid, alg, privateKey };
}

/** The key with `sign` removed, as DiracX's rotation leaves the previous key (verify-only). */
export function retiredKey(key: SigningKey): JWK {
  return { ...key.jwks.keys[0]!, key_ops: ["verify"] };
}

export interface TokenClaims {
  sub?: string;
  vo: string;
  dirac_group: string;
  dirac_properties: string[];
  preferred_username: string;
  dirac_policies?: Record<string, unknown>;
}

/** An access token as DiracX's auth service issues it (`sub` is `<vo>:<IdP sub>`). */
export async function mintToken(key: SigningKey, issuer: string, claims: TokenClaims, opts: { expiresInSeconds?: number; alg?: string; kid?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...claims, sub: claims.sub ?? `${claims.vo}:${claims.preferred_username}`, dirac_policies: claims.dirac_policies ?? {} })
    .setProtectedHeader({ alg: opts.alg ?? key.alg, kid: opts.kid ?? key.kid, typ: "JWT" })
    .setIssuer(issuer)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.expiresInSeconds ?? 20 * 60))
    .sign(key.privateKey);
}

export { importJWK };
