import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { compressJdl, NotFoundError } from "diracx-tasks";
import { closeAllEngines, getEngine } from "diracx-tasks/db";
import { GubbinsJobDB } from "../src/db/job-db.ts";
import { LollygagDB } from "../src/db/lollygag-db.ts";
import { MyPilotDB } from "../src/db/my-pilot-db.ts";
import { createTestDatabase } from "../../../test/support/postgres.ts";

after(() => closeAllEngines());

const backends = [
  { name: "postgresql", url: () => createTestDatabase("gub") },
  { name: "pglite", url: async () => "pglite://memory#gubbins" },
];

for (const backend of backends) {
  describe(`gubbins DBs on ${backend.name}`, () => {
    let jobs: GubbinsJobDB;
    let lolly: LollygagDB;
    let pilots: MyPilotDB;
    before(async () => {
      const url = await backend.url();
      assert.deepEqual((await GubbinsJobDB.migrate(url)).applied.map((m) => `${m.scope}:${m.version}`), ["diracx:1", "gubbins:1"]);
      assert.deepEqual((await GubbinsJobDB.migrate(url)).applied, []);
      await LollygagDB.migrate(url);
      await MyPilotDB.migrate(url);
      jobs = new GubbinsJobDB(getEngine(url));
      lolly = new LollygagDB(getEngine(url));
      pilots = new MyPilotDB(getEngine(url));
    });

    test("GubbinsJobDB keeps core behaviour and adds GubbinsInfo (deleted with the job)", async () => {
      const id = await jobs.createJob(compressJdl("[A = 1;]"));
      await jobs.updateJobJdls({ [id]: compressJdl("[A = 2;]") });
      await jobs.insertJobAttributes({ [id]: { VO: "gubbins" } });
      assert.equal(await jobs.setJobAttributes({ [id]: { Status: "Waiting" } }), 1);
      assert.equal((await jobs.search({ parameters: ["Status"], search: [{ parameter: "JobID", operator: "eq", value: id }] })).rows[0]?.Status, "Waiting");
      await jobs.insertGubbinsInfo(id, "info");
      assert.deepEqual(await jobs.getJobJdls([id]), { [id]: "[A = 2;]" });
      assert.deepEqual(await jobs.getJobJdls([id], { withInfo: true }), { [id]: { JDL: "[A = 2;]", Info: "info" } });
      await jobs.deleteJobs([id]);
      assert.deepEqual(await jobs.getJobJdls([id], { withInfo: true }), {});
    });

    test("LollygagDB: owners and cars", async () => {
      const owner = await lolly.insertOwner("Magnum");
      await lolly.insertOwner("Higgins");
      assert.deepEqual(await lolly.getOwners(), ["Magnum", "Higgins"]);
      const plate = await lolly.insertCar("Ferrari", owner);
      await lolly.insertCar("Ferrari", owner);
      await lolly.insertCar("Jeep", owner);
      assert.deepEqual(await lolly.getCar(plate), { licensePlate: plate, model: "Ferrari", ownerId: owner });
      assert.deepEqual(await lolly.summary(), { Ferrari: 2, Jeep: 1 });
      await assert.rejects(lolly.getCar("00000000-0000-0000-0000-000000000000"), NotFoundError);
    });

    test("MyPilotDB: free slots, submissions, statuses and summary", async () => {
      await pilots.addCe("ce-a", 2, 0.9);
      await pilots.addCe("ce-b", 1, 0.5);
      await pilots.addCe("ce-off", 5, 1, false);
      const p1 = await pilots.submitPilot("ce-a");
      assert.deepEqual(await pilots.getAvailableCes(), [
        { name: "ce-a", capacity: 2, successRate: 0.9, availableSlots: 1 },
        { name: "ce-b", capacity: 1, successRate: 0.5, availableSlots: 1 },
      ]);
      const p2 = await pilots.submitPilot("ce-b");
      assert.deepEqual((await pilots.getAvailableCes()).map((c) => c.name), ["ce-a"]);
      await pilots.updatePilotStatus(p1, "running");
      await pilots.updatePilotStatus(p2, "done");
      assert.deepEqual((await pilots.getAvailableCes()).map((c) => [c.name, c.availableSlots]), [["ce-a", 1], ["ce-b", 1]]);
      assert.deepEqual((await pilots.getPilotsByStatus("running")).map((p) => p.pilotId), [p1]);
      assert.equal(await pilots.getCeSuccessRate("ce-b"), 0.5);
      assert.deepEqual(await pilots.getPilotSummary(), { submitted: 0, running: 1, done: 1, failed: 0 });
      await assert.rejects(pilots.updatePilotStatus(99999, "done"), NotFoundError);
      await assert.rejects(pilots.getCeSuccessRate("nope"), /compute element nope not found/);
    });
  });
}
