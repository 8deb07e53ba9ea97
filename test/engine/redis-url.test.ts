import assert from "node:assert/strict";
import { test } from "node:test";
import { brokerTarget, connectionCause, maskRedisUrl, maskUrlsIn, type StandaloneTarget } from "../../src/redis-url.ts";

function standalone(url: string): StandaloneTarget {
  const t = brokerTarget(url);
  if (t.kind !== "standalone") throw new Error(`${url} is not one Redis`);
  return t;
}

test("broker URLs become ioredis options: ACL user, password, db, TLS", () => {
  assert.deepEqual(standalone("redis://alice:p%40ss@redis.example:6380/2").options, { host: "redis.example", port: 6380, db: 2, username: "alice", password: "p@ss" });
  assert.deepEqual(standalone("redis://:pw@h").options, { host: "h", port: 6379, db: 0, password: "pw" });
  const tls = standalone("rediss://h.example");
  assert.equal(tls.tls, true);
  assert.deepEqual(tls.options.tls, { servername: "h.example" });
  assert.deepEqual(standalone("rediss://127.0.0.1:1").options.tls, {}, "no SNI for an IP address");
  assert.throws(() => brokerTarget("http://:secret@h"), (e: Error) => /unsupported scheme 'http:'/.test(e.message) && !e.message.includes("secret"));
  assert.throws(() => brokerTarget("redis://:secret@h/x"), (e: Error) => /database 'x'/.test(e.message) && !e.message.includes("secret"));
});

test("passwords are masked, user names kept", () => {
  assert.equal(maskRedisUrl("redis://alice:secret@h:1/0"), "redis://alice:***@h:1/0");
  assert.equal(maskRedisUrl("rediss://:secret@h"), "rediss://:***@h");
  assert.equal(maskRedisUrl("redis://h:6379"), "redis://h:6379");
  assert.equal(maskUrlsIn("failed on redis://u:secret@h and rediss://:x@k"), "failed on redis://u:***@h and rediss://:***@k");
});

test("connection causes in an operator's words", () => {
  const err = (code: string, message = code): Error => Object.assign(new Error(message), { code });
  assert.equal(connectionCause(err("ECONNREFUSED"), { tls: false }), "connection refused");
  assert.match(connectionCause(new Error("WRONGPASS invalid username-password pair"), { tls: false }), /^WRONGPASS/);
  assert.match(connectionCause(new Error("NOAUTH Authentication required."), { tls: false }), /^NOAUTH/);
  assert.match(connectionCause(err("ETIMEDOUT"), { tls: true }), /TLS handshake.*use redis:\/\//);
  assert.match(connectionCause(err("ECONNRESET"), { tls: false }), /use rediss:\/\//);
});
