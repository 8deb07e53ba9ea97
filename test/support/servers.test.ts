import assert from "node:assert/strict";
import { after, test } from "node:test";
import pg from "pg";
import { createTestDatabase } from "./postgres.ts";
import { RedisServer, redisClient } from "./redis.ts";

const redis = await RedisServer.start();
after(() => redis.stop());

test("a private redis-server answers and forgets everything on restart", async () => {
  const client = redisClient(redis.url, { maxRetriesPerRequest: null });
  await client.set("k", "v");
  assert.equal(await client.get("k"), "v");
  client.disconnect();
  await redis.restart();
  const again = redisClient(redis.url);
  assert.equal(await again.get("k"), null);
  again.disconnect();
});

test("each test database is fresh and writable", async () => {
  const a = new pg.Client({ connectionString: await createTestDatabase() });
  const b = new pg.Client({ connectionString: await createTestDatabase() });
  await a.connect();
  await b.connect();
  await a.query("CREATE TABLE x (id int)");
  const r = await b.query("SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'x'");
  assert.equal(r.rows[0].n, 0);
  await a.end();
  await b.end();
});
