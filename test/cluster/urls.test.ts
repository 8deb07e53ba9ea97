// The cluster and sentinel forms of DIRACX_TASKS_REDIS_URL (src/redis-cluster.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { BrokerUrlError, parseMultiNodeUrl } from "../../src/redis-cluster.ts";
import { TasksSettings } from "../../src/settings.ts";

test("plain redis:// and rediss:// URLs are left to ioredis", () => {
  assert.equal(parseMultiNodeUrl("redis://localhost:6379"), undefined);
  assert.equal(parseMultiNodeUrl("rediss://u:p@cache.example:6380/2"), undefined);
});

test("a cluster URL lists its seed nodes, credentials and TLS", () => {
  assert.deepEqual(parseMultiNodeUrl("redis+cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]:7002"), {
    kind: "cluster",
    tls: false,
    nodes: [
      { host: "10.0.0.1", port: 7000 },
      { host: "10.0.0.2", port: 7001 },
      { host: "::1", port: 7002 },
    ],
  });
  assert.deepEqual(parseMultiNodeUrl("rediss+cluster://tasks:s%40cret@a.example,b.example:6380"), {
    kind: "cluster",
    tls: true,
    nodes: [
      { host: "a.example", port: 6379 },
      { host: "b.example", port: 6380 },
    ],
    username: "tasks",
    password: "s@cret",
  });
  assert.deepEqual(parseMultiNodeUrl("redis+cluster://:pw@h:1"), { kind: "cluster", tls: false, nodes: [{ host: "h", port: 1 }], password: "pw" });
});

test("a sentinel URL names the sentinels, the master, a database and the sentinels' own password", () => {
  assert.deepEqual(parseMultiNodeUrl("redis+sentinel://:pw@s1:26379,s2/mymaster/3?sentinelPassword=spw"), {
    kind: "sentinel",
    tls: false,
    nodes: [
      { host: "s1", port: 26379 },
      { host: "s2", port: 26379 },
    ],
    masterName: "mymaster",
    db: 3,
    password: "pw",
    sentinelPassword: "spw",
  });
});

test("a malformed URL is one line naming the problem, with the password masked", () => {
  const cases: [string, RegExp][] = [
    ["redis+cluster://u:hunter2@", /no host:port listed/],
    ["redis+cluster://u:hunter2@h1:99999", /port of 'h1:99999' is out of range/],
    ["redis+cluster://u:hunter2@h1:1/0", /a cluster has no databases/],
    ["redis+cluster://u:hunter2@h1:1?tls=1", /unknown parameter 'tls'/],
    ["redis+sentinel://u:hunter2@s1:26379", /name the master after the sentinels/],
    ["redis+sentinel://u:hunter2@s1/m/x", /database 'x' is not a number/],
    ["redis+shard://u:hunter2@h1", /not a redis\+cluster:\/\/ or redis\+sentinel:\/\/ URL/],
  ];
  for (const [url, problem] of cases) {
    assert.throws(
      () => parseMultiNodeUrl(url),
      (err: unknown) => {
        assert.ok(err instanceof BrokerUrlError);
        assert.match(err.message, problem);
        assert.doesNotMatch(err.message, /hunter2/);
        assert.match(err.message, /u:\*\*\*@/);
        assert.equal(err.message.includes("\n"), false);
        return true;
      },
    );
  }
});

test("DIRACX_TASKS_REDIS_URL accepts the cluster and sentinel forms", () => {
  for (const url of ["redis+cluster://h1:7000,h2:7001", "rediss+cluster://h1:7000", "redis+sentinel://s1:26379/mymaster", "rediss+sentinel://s1/m"]) {
    assert.equal(TasksSettings.fromEnv({ DIRACX_TASKS_REDIS_URL: url }).redisUrl, url);
  }
  assert.throws(() => TasksSettings.fromEnv({ DIRACX_TASKS_REDIS_URL: "memcached://h" }), /redis\+cluster:\/\//);
});
