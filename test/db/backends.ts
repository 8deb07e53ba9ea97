// The backends every DB test runs against: real PostgreSQL and embedded PGlite.
import { createTestDatabase } from "../support/postgres.ts";

export interface Backend {
  name: "postgresql" | "pglite";
  /** A fresh, empty database URL. */
  url(): Promise<string>;
}

let pgliteCounter = 0;
export const backends: Backend[] = [
  { name: "postgresql", url: () => createTestDatabase("db") },
  // Each in-memory URL is its own engine; a fragment keeps them apart within one process.
  { name: "pglite", url: async () => `pglite://memory#${++pgliteCounter}` },
];
