import { randomUUID } from "node:crypto";
import type { ColumnType, Generated, Kysely } from "kysely";
import { BaseSQLDB, NotFoundError, runScript, type Migration } from "diracx-tasks";

export interface OwnersTable {
  OwnerID: Generated<number>;
  CreationTime: ColumnType<Date, Date | undefined, Date>;
  Name: string;
}

export interface CarsTable {
  LicensePlate: string;
  Model: string;
  OwnerID: number;
}

export interface LollygagDBSchema {
  Owners: OwnersTable;
  Cars: CarsTable;
}

export interface Car {
  licensePlate: string;
  model: string;
  ownerId: number;
}

/** The example extension DB: owners and their cars. */
export class LollygagDB extends BaseSQLDB<LollygagDBSchema> {
  static override readonly dbName: string = "LollygagDB";
  static override readonly migrations: readonly Migration[] = [
    {
      scope: "gubbins",
      version: 1,
      name: "create Owners and Cars",
      async up(db: Kysely<unknown>) {
        await runScript(
          db,
          `
          CREATE TABLE "Owners" (
            "OwnerID" serial PRIMARY KEY,
            "CreationTime" timestamptz NOT NULL DEFAULT now(),
            "Name" varchar(255) NOT NULL
          );
          CREATE TABLE "Cars" (
            "LicensePlate" uuid PRIMARY KEY,
            "Model" varchar(255) NOT NULL,
            "OwnerID" integer NOT NULL REFERENCES "Owners"("OwnerID") ON DELETE CASCADE
          );
        `,
        );
      },
    },
  ];

  async insertOwner(name: string): Promise<number> {
    const r = await this.db.insertInto("Owners").values({ Name: name }).returning("OwnerID").executeTakeFirstOrThrow();
    return r.OwnerID;
  }

  /** Owner names, oldest first. */
  async getOwners(): Promise<string[]> {
    const rows = await this.db.selectFrom("Owners").select("Name").orderBy("OwnerID").execute();
    return rows.map((r) => r.Name);
  }

  /** Registers a car; returns its new licence plate (a UUID). */
  async insertCar(model: string, ownerId: number): Promise<string> {
    const plate = randomUUID();
    await this.db.insertInto("Cars").values({ LicensePlate: plate, Model: model, OwnerID: ownerId }).execute();
    return plate;
  }

  async getCar(licensePlate: string): Promise<Car> {
    const r = await this.db.selectFrom("Cars").selectAll().where("LicensePlate", "=", licensePlate).executeTakeFirst();
    if (!r) throw new NotFoundError(`no car with licence plate ${licensePlate}`);
    return { licensePlate: r.LicensePlate, model: r.Model, ownerId: r.OwnerID };
  }

  /** Number of cars per model. */
  async summary(): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom("Cars").select("Model").select((eb) => eb.fn.countAll<number>().as("n")).groupBy("Model").execute();
    return Object.fromEntries(rows.map((r) => [r.Model, Number(r.n)]));
  }
}
