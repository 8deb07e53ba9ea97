import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TaskDB } from "../../src/db/sql/task-db.ts";
import type { DiracxApp } from "../../src/http/app.ts";
import { bearer, setupHttpEnv, users, type HttpEnv } from "./support.ts";

describe("tasks router (the operator API)", () => {
  let he: HttpEnv;
  let built: DiracxApp;
  before(async () => {
    he = await setupHttpEnv();
    built = await he.build();
  });
  after(() => he.close());
  const call = async (method: "GET" | "POST" | "DELETE", url: string, who: (typeof users)[keyof typeof users], payload?: unknown) =>
    built.app.inject({ method, url, headers: bearer(await he.token(who)), ...(payload === undefined ? {} : { payload: payload as object }) });

  test("reading needs Operator/JobAdministrator/ServiceAdministrator; changing needs Operator/ServiceAdministrator", async () => {
    assert.equal((await call("GET", "/api/tasks/status", users.alice)).statusCode, 403);
    const status = await call("GET", "/api/tasks/status", users.admin);
    assert.equal(status.statusCode, 200);
    assert.deepEqual(status.json().queues.map((q: { size: string }) => q.size), ["small", "medium", "large"]);
    assert.equal((await call("POST", "/api/tasks/submit", users.admin, { task: "jobs:OptimizeJobsTask", args: { jobIds: [1] } })).statusCode, 403);
  });

  test("registered tasks; submit by id with validated args; the task's detail", async () => {
    const reg = (await call("GET", "/api/tasks/registered", users.operator)).json() as { id: string; size: string; priority: string }[];
    assert.deepEqual(reg.find((t) => t.id === "jobs:OptimizeJobsTask"), { id: "jobs:OptimizeJobsTask", priority: "realtime", size: "small", dlqEligible: true });
    const bad = await call("POST", "/api/tasks/submit", users.operator, { task: "jobs:OptimizeJobsTask", args: { jobIds: "seven" } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().detail, /jobIds/);
    const misspelt = await call("POST", "/api/tasks/submit", users.operator, { task: "jobs:OptimizeJobsTask", args: { jobIds: [7], jobIdz: [8] } });
    assert.equal(misspelt.statusCode, 400, "an unknown field is refused, not dropped");
    assert.match(misspelt.json().detail, /unknown field 'jobIdz' \(fields: jobIds\)/);
    const unknown = await call("POST", "/api/tasks/submit", users.operator, { task: "jobs:NoSuchTask", args: {} });
    assert.equal(unknown.statusCode, 404);
    const ok = await call("POST", "/api/tasks/submit", users.operator, { task: "jobs:OptimizeJobsTask", args: { jobIds: [7] }, labels: { vo: "lhcb" } });
    assert.equal(ok.statusCode, 201);
    const { taskId } = ok.json();
    const detail = await call("GET", `/api/tasks/task/${taskId}`, users.operator);
    assert.equal(detail.statusCode, 200);
    assert.deepEqual([detail.json().task, detail.json().args, detail.json().state, detail.json().labels.vo], ["jobs:OptimizeJobsTask", { jobIds: [7] }, "waiting", "lhcb"]);
    assert.equal((await call("GET", `/api/tasks/task/${taskId}`, users.gridppOperator)).statusCode, 403, "another VO's operator");
    const listed = (await call("GET", "/api/tasks/list?state=waiting", users.gridppOperator)).json();
    assert.equal(listed.tasks.length, 0, "another VO's operator sees none of lhcb's tasks");
    assert.equal((await call("POST", `/api/tasks/task/${taskId}/cancel`, users.operator)).statusCode, 200);
    assert.equal((await call("GET", `/api/tasks/task/${taskId}`, users.operator)).statusCode, 404);
  });

  test("schedules, locks and dead letters", async () => {
    assert.deepEqual((await call("GET", "/api/tasks/schedules", users.operator)).json(), []);
    assert.equal((await call("POST", "/api/tasks/schedules/nope/pause", users.operator)).statusCode, 404);
    assert.deepEqual((await call("GET", "/api/tasks/locks", users.operator)).json(), []);
    assert.equal((await call("DELETE", "/api/tasks/locks?key=nope", users.operator)).statusCode, 400);
    const taskDB = TaskDB.fromEnv<TaskDB>(he.env);
    const id = await taskDB.insertDeadLetter({ taskId: "t-1", taskName: "jobs:OptimizeJobsTask", args: { jobIds: [1] }, labels: { vo: "lhcb" }, vo: "lhcb", firstSubmittedAt: new Date(), attempts: 1, errors: [{ type: "Error", message: "boom" } as never] });
    const list = (await call("GET", "/api/tasks/dead-letters", users.operator)).json() as { id: number }[];
    assert.deepEqual(list.map((e) => e.id), [id]);
    assert.deepEqual((await call("GET", "/api/tasks/dead-letters", users.gridppOperator)).json(), []);
    assert.equal((await call("GET", `/api/tasks/dead-letters/${id}`, users.operator)).json().taskName, "jobs:OptimizeJobsTask");
    const resub = await call("POST", `/api/tasks/dead-letters/${id}/resubmit`, users.operator);
    assert.equal(resub.statusCode, 200, resub.body);
    assert.equal((await taskDB.get(id))!.status, "resubmitted");
    const id2 = await taskDB.insertDeadLetter({ taskId: "t-2", taskName: "jobs:OptimizeJobsTask", args: { jobIds: [2] }, labels: { vo: "lhcb" }, vo: "lhcb", firstSubmittedAt: new Date(), attempts: 1, errors: [] });
    assert.equal((await call("POST", `/api/tasks/dead-letters/${id2}/discard`, users.gridppOperator)).statusCode, 403);
    assert.equal((await call("POST", `/api/tasks/dead-letters/${id2}/discard`, users.operator)).statusCode, 200);
    assert.equal((await taskDB.get(id2))!.status, "discarded");
  });
});
