import { sql, type ColumnType, type Generated, type Kysely } from "kysely";
import { BaseSQLDB, InvalidQueryError, NotFoundError, runScript, type Migration } from "diracx-tasks";

export const MY_PILOT_STATUSES = ["submitted", "running", "done", "failed"] as const;
export type MyPilotStatus = (typeof MY_PILOT_STATUSES)[number];

export interface MyComputeElementsTable {
  Name: string;
  Capacity: number;
  SuccessRate: number;
  Enabled: boolean;
}

export interface MyPilotSubmissionsTable {
  PilotID: Generated<number>;
  CEName: string;
  Status: MyPilotStatus;
  SubmittedAt: ColumnType<Date, Date | undefined, Date>;
  UpdatedAt: ColumnType<Date, Date | undefined, Date>;
}

export interface MyPilotDBSchema {
  MyComputeElements: MyComputeElementsTable;
  MyPilotSubmissions: MyPilotSubmissionsTable;
}

export interface AvailableCe {
  name: string;
  capacity: number;
  successRate: number;
  availableSlots: number;
}

export interface MyPilot {
  pilotId: number;
  ceName: string;
  status: MyPilotStatus;
  submittedAt: Date;
  updatedAt: Date;
}

/** The pilot-submission example: compute elements with capacities and the pilots sent to them. */
export class MyPilotDB extends BaseSQLDB<MyPilotDBSchema> {
  static override readonly dbName: string = "MyPilotDB";
  static override readonly migrations: readonly Migration[] = [
    {
      scope: "gubbins",
      version: 1,
      name: "create MyComputeElements and MyPilotSubmissions",
      async up(db: Kysely<unknown>) {
        await runScript(
          db,
          `
          CREATE TABLE "MyComputeElements" (
            "Name" varchar(255) PRIMARY KEY,
            "Capacity" integer NOT NULL,
            "SuccessRate" double precision NOT NULL,
            "Enabled" boolean NOT NULL DEFAULT true
          );
          CREATE TABLE "MyPilotSubmissions" (
            "PilotID" serial PRIMARY KEY,
            "CEName" varchar(255) NOT NULL REFERENCES "MyComputeElements"("Name") ON DELETE CASCADE,
            "Status" varchar(16) NOT NULL CHECK ("Status" IN ('submitted', 'running', 'done', 'failed')),
            "SubmittedAt" timestamptz NOT NULL DEFAULT now(),
            "UpdatedAt" timestamptz NOT NULL DEFAULT now()
          );
          CREATE INDEX "MyPilotSubmissionsCEStatus" ON "MyPilotSubmissions" ("CEName", "Status");
        `,
        );
      },
    },
  ];

  async addCe(name: string, capacity: number, successRate: number, enabled = true): Promise<void> {
    if (!(successRate >= 0 && successRate <= 1)) throw new InvalidQueryError(`success rate of CE ${name} must be within [0, 1] (got ${successRate})`);
    await this.db.insertInto("MyComputeElements").values({ Name: name, Capacity: capacity, SuccessRate: successRate, Enabled: enabled }).execute();
  }

  /** Enabled CEs with free slots (capacity minus submitted and running pilots). */
  async getAvailableCes(): Promise<AvailableCe[]> {
    const res = await sql<{ Name: string; Capacity: number; SuccessRate: number; active: number }>`
      SELECT ce."Name", ce."Capacity", ce."SuccessRate",
             (SELECT count(*)::int FROM "MyPilotSubmissions" p WHERE p."CEName" = ce."Name" AND p."Status" IN ('submitted', 'running')) AS active
      FROM "MyComputeElements" ce WHERE ce."Enabled" ORDER BY ce."Name"`.execute(this.db);
    return res.rows
      .map((r) => ({ name: r.Name, capacity: r.Capacity, successRate: r.SuccessRate, availableSlots: r.Capacity - r.active }))
      .filter((ce) => ce.availableSlots > 0);
  }

  async submitPilot(ceName: string): Promise<number> {
    const r = await this.db.insertInto("MyPilotSubmissions").values({ CEName: ceName, Status: "submitted" }).returning("PilotID").executeTakeFirstOrThrow();
    return r.PilotID;
  }

  async updatePilotStatus(pilotId: number, status: MyPilotStatus): Promise<void> {
    const r = await this.db.updateTable("MyPilotSubmissions").set({ Status: status, UpdatedAt: new Date() }).where("PilotID", "=", pilotId).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) throw new NotFoundError(`pilot ${pilotId} not found in MyPilotSubmissions`);
  }

  async getPilotsByStatus(status: MyPilotStatus): Promise<MyPilot[]> {
    const rows = await this.db.selectFrom("MyPilotSubmissions").selectAll().where("Status", "=", status).orderBy("PilotID").execute();
    return rows.map((r) => ({ pilotId: r.PilotID, ceName: r.CEName, status: r.Status, submittedAt: r.SubmittedAt, updatedAt: r.UpdatedAt }));
  }

  async getCeSuccessRate(ceName: string): Promise<number> {
    const r = await this.db.selectFrom("MyComputeElements").select("SuccessRate").where("Name", "=", ceName).executeTakeFirst();
    if (!r) throw new NotFoundError(`compute element ${ceName} not found`);
    return r.SuccessRate;
  }

  /** Pilots per status (every status present, zero when none). */
  async getPilotSummary(): Promise<Record<MyPilotStatus, number>> {
    const rows = await this.db.selectFrom("MyPilotSubmissions").select("Status").select((eb) => eb.fn.countAll<number>().as("n")).groupBy("Status").execute();
    const out = Object.fromEntries(MY_PILOT_STATUSES.map((s) => [s, 0])) as Record<MyPilotStatus, number>;
    for (const r of rows) out[r.Status] = Number(r.n);
    return out;
  }
}
