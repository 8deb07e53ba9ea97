import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { createLocalJWKSet } from "jose";
import { tokenVerifier, verifierFromEnv, publicJwks } from "../../src/http/auth.ts";
import { generateSigningKey, mintToken, retiredKey } from "../../src/http/dev-keys.ts";
import type { DiracxApp } from "../../src/http/app.ts";
import { bearer, HTTP_APP_ROOT, ISSUER, setupHttpEnv, users, type HttpEnv } from "./support.ts";

describe("DiracX token authentication", () => {
  let he: HttpEnv;
  let built: DiracxApp;
  before(async () => {
    he = await setupHttpEnv({ appRoot: HTTP_APP_ROOT });
    built = await he.build();
  });
  after(() => he.close());

  const me = (headers: Record<string, string>) => built.app.inject({ method: "GET", url: "/api/probe/me", headers });

  test("a valid token reaches the handler as the user", async () => {
    const res = await me(bearer(await he.token(users.alice)));
    assert.equal(res.statusCode, 200);
    const user = res.json();
    assert.deepEqual(
      { sub: user.sub, vo: user.vo, diracGroup: user.diracGroup, properties: user.properties, preferredUsername: user.preferredUsername, policies: user.policies },
      { sub: "lhcb:alice", vo: "lhcb", diracGroup: "lhcb_user", properties: ["NormalUser"], preferredUsername: "alice", policies: {} },
    );
    assert.match(user.tokenId, /^[0-9a-f-]{36}$/);
  });

  test("missing header → 401 with WWW-Authenticate: Bearer", async () => {
    const res = await me({});
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers["www-authenticate"], "Bearer");
    assert.deepEqual(res.json(), { detail: "Authorization header is missing" });
  });

  test("malformed header → 400", async () => {
    for (const h of ["Basic abc", "Bearer", "bearer x.y.z"]) {
      const res = await me({ authorization: h });
      assert.equal(res.statusCode, 400, h);
      assert.deepEqual(res.json(), { detail: "Invalid authorization header" });
    }
  });

  test("garbage, expired, wrong issuer, wrong algorithm and unknown kid → 401 Invalid JWT", async () => {
    const other = await generateSigningKey();
    const rsa = await generateSigningKey("RS256");
    const cases: Record<string, string> = {
      garbage: "not.a.jwt",
      expired: await he.token(users.alice, { expiresInSeconds: -5 }),
      "wrong issuer": await mintToken(he.key, "https://evil.invalid", users.alice),
      "unknown kid": await mintToken(other, ISSUER, users.alice),
      "signed by another key under the known kid": await mintToken(other, ISSUER, users.alice, { kid: he.key.kid }),
      "algorithm not allowed": await mintToken(rsa, ISSUER, users.alice),
    };
    const restricted = await he.build({ env: { DIRACX_SERVICE_AUTH_TOKEN_KEYSTORE: JSON.stringify({ keys: [...he.key.jwks.keys, ...rsa.jwks.keys] }), DIRACX_SERVICE_AUTH_TOKEN_ALLOWED_ALGORITHMS: '["Ed25519"]' } });
    for (const [what, token] of Object.entries(cases)) {
      const app = what === "algorithm not allowed" ? restricted.app : built.app;
      const res = await app.inject({ method: "GET", url: "/api/probe/me", headers: bearer(token) });
      assert.equal(res.statusCode, 401, what);
      assert.deepEqual(res.json(), { detail: "Invalid JWT" }, what);
    }
    // The RS256 key is accepted where the algorithm is allowed (the default list).
    const both = await he.build({ env: { DIRACX_SERVICE_AUTH_TOKEN_KEYSTORE: JSON.stringify({ keys: [...he.key.jwks.keys, ...rsa.jwks.keys] }) } });
    assert.equal((await both.app.inject({ method: "GET", url: "/api/probe/me", headers: bearer(cases["algorithm not allowed"]!) })).statusCode, 200);
  });

  test("a token for a VO not in the configuration → 401", async () => {
    const res = await me(bearer(await he.token({ ...users.alice, vo: "atlas" })));
    assert.equal(res.statusCode, 401);
    assert.match(res.json().detail, /VO 'atlas'/);
  });

  test("DiracX-format JWKS with key_ops [sign, verify]: jose alone refuses it, the verifier strips it", async () => {
    const token = await he.token(users.alice);
    await assert.rejects(() => tokenVerifier(createLocalJWKSet(he.key.jwks), ISSUER, ["Ed25519"]).verify(`Bearer ${token}`), /Unsupported key usage|key_ops|usage/i);
    assert.equal(publicJwks(he.key.jwks).keys[0]!.d, undefined);
    const user = await (await verifierFromEnv(he.env)).verify(`Bearer ${token}`);
    assert.equal(user.preferredUsername, "alice");
  });

  test("key rotation: tokens of the old, now verify-only key still pass; a keystore of only sign-less keys of another kid fails", async () => {
    const oldToken = await he.token(users.alice);
    const fresh = await generateSigningKey();
    const rotated = { keys: [fresh.jwks.keys[0]!, retiredKey(he.key)] };
    const v = await verifierFromEnv({ ...he.env, DIRACX_SERVICE_AUTH_TOKEN_KEYSTORE: JSON.stringify(rotated) });
    assert.equal((await v.verify(`Bearer ${oldToken}`)).sub, "lhcb:alice");
    assert.equal((await v.verify(`Bearer ${await mintToken(fresh, ISSUER, users.bob)}`)).sub, "lhcb:bob");
  });

  test("remote JWKS: fetched, sanitised, and rotation is picked up", async () => {
    let jwks: unknown = { keys: he.key.jwks.keys.map((k) => ({ ...k, d: undefined })) };
    const server = http.createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(jwks)));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const { port } = server.address() as { port: number };
      const env = { ...he.env, DIRACX_SERVICE_AUTH_TOKEN_KEYSTORE: "", DIRACX_SERVICE_AUTH_TOKEN_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json` };
      delete (env as Record<string, string | undefined>).DIRACX_SERVICE_AUTH_TOKEN_KEYSTORE;
      const v = await verifierFromEnv(env);
      assert.equal((await v.verify(`Bearer ${await he.token(users.alice)}`)).sub, "lhcb:alice");
      const fresh = await generateSigningKey();
      jwks = { keys: [fresh.jwks.keys[0]!, retiredKey(he.key)] };
      // An unknown kid makes jose refetch the set (after its cooldown; 30 s is too long for a test, so a new verifier stands for "later").
      const later = await verifierFromEnv(env);
      assert.equal((await later.verify(`Bearer ${await mintToken(fresh, ISSUER, users.bob)}`)).sub, "lhcb:bob");
      assert.equal((await later.verify(`Bearer ${await he.token(users.alice)}`)).sub, "lhcb:alice");
    } finally {
      server.close();
    }
  });

  test("no issuer or no key refuses to build, naming the variable", async () => {
    const noIssuer = { ...he.env };
    delete (noIssuer as Record<string, string | undefined>).DIRACX_SERVICE_AUTH_TOKEN_ISSUER;
    await assert.rejects(() => verifierFromEnv(noIssuer), /DIRACX_SERVICE_AUTH_TOKEN_ISSUER is not set/);
    const noKey = { ...he.env };
    delete (noKey as Record<string, string | undefined>).DIRACX_SERVICE_AUTH_TOKEN_KEYSTORE;
    await assert.rejects(() => verifierFromEnv(noKey), /DIRACX_SERVICE_AUTH_TOKEN_KEYSTORE nor DIRACX_SERVICE_AUTH_TOKEN_JWKS_URL/);
  });
});
