// HTTP API throughput: POST /api/jobs/jdl (one job per request, 100 concurrent) and
// POST /api/jobs/search, each beside a bare fastify handler doing the same DB work (same unit
// of work, same logic, same optimiser submission) without auth, policy or validation, in the
// same run, on a private PostgreSQL and Redis.
import autocannon from "autocannon";
import Fastify from "fastify";
import { JobDB } from "../src/db/sql/job-db.ts";
import { JobLoggingDB } from "../src/db/sql/job-logging-db.ts";
import { openUnitOfWork } from "../src/db/unit-of-work.ts";
import { withProducer } from "../src/engine/context.ts";
import { startHttpServer } from "../src/http/server.ts";
import { submitJdlJobs } from "../src/logic/jobs/submission.ts";
import { optimizeJobs } from "../tasks/jobs/optimize-jobs.ts";
import { stopTestPostgres } from "../test/support/postgres.ts";
import { setupHttpEnv, users } from "../test/http/support.ts";
import { emitter } from "./_support.ts";
import pino from "pino";

const CONNECTIONS = 100;
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 5);
const emit = emitter("http", 1);
const JDL = `[ Executable = "echo"; JobName = "bench"; Platform = "x86_64-el9"; ]`;

const he = await setupHttpEnv({ backend: "postgresql" });
const quiet = pino({ level: "silent" });
const ours = await startHttpServer(he.engine, { env: he.env, port: 0, logger: quiet });
const bare = Fastify();
const submitSpec = { jobDB: JobDB, jobLoggingDB: JobLoggingDB };
bare.post("/jdl", async (req) => {
  const uow = await openUnitOfWork(submitSpec, { registry: he.engine.registry, env: he.env });
  try {
    const jobs = await submitJdlJobs(req.body as string[], { owner: "alice", ownerGroup: "lhcb_user", vo: "lhcb" }, uow.deps);
    await uow.commit();
    await withProducer(he.engine.producer, () => optimizeJobs(jobs.map((j) => j.JobID)));
    return jobs;
  } catch (err) {
    await uow.rollback();
    throw err;
  }
});
bare.post("/search", async () => {
  const uow = await openUnitOfWork({ jobDB: JobDB }, { registry: he.engine.registry, env: he.env });
  try {
    const { rows } = await uow.deps.jobDB.search({ search: [{ parameter: "Owner", operator: "eq", value: "alice" }, { parameter: "VO", operator: "eq", value: "lhcb" }], perPage: 100 });
    await uow.commit();
    return rows;
  } catch (err) {
    await uow.rollback();
    throw err;
  }
});
const bareUrl = await bare.listen({ host: "127.0.0.1", port: 0 });
const token = await he.token(users.alice, { expiresInSeconds: 3600 });

async function measure(url: string, body: unknown, seconds = SECONDS): Promise<{ rps: number; p99: number; errors: number }> {
  const r = await autocannon({ url, method: "POST", connections: CONNECTIONS, duration: seconds, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

try {
  for (const [name, path, body] of [
    ["jdl", "/api/jobs/jdl", [JDL]],
    ["search", "/api/jobs/search", { search: [], parameters: null }],
  ] as const) {
    // Warm-up of both (JIT, connection pools), not reported.
    await measure(`${bareUrl}/${name}`, body, 1);
    await measure(`${ours.url}${path}`, body, 1);
    const bareRes = await measure(`${bareUrl}/${name}`, body);
    const ourRes = await measure(`${ours.url}${path}`, body);
    if (ourRes.errors || bareRes.errors) process.stderr.write(`http.${name}: ${ourRes.errors} failed requests (serve), ${bareRes.errors} (bare)\n`);
    emit(`${name}.rps`, ourRes.rps, "req/s", `${CONNECTIONS} concurrent, ${SECONDS} s`);
    emit(`${name}.p99`, ourRes.p99, "ms", "p99 latency");
    emit(`${name}.bare_rps`, bareRes.rps, "req/s", "bare fastify, same DB work");
    emit(`${name}.bare_p99`, bareRes.p99, "ms", "bare fastify p99");
    emit(`${name}.ratio`, bareRes.rps ? ourRes.rps / bareRes.rps : 0, "x", "serve / bare fastify, ≥ 0.8");
  }
} finally {
  await ours.close();
  await bare.close();
  await he.close();
  await stopTestPostgres();
}
