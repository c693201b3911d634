import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPostgres, type TestPostgres } from "../../db/test/postgres";
import { importOmop } from "./omop-import";
import {
  EUNOMIA,
  literal,
  openQueries,
  sharedDataMissing,
  TEST_SECRET,
  temporaryDirectory,
} from "./testing";

/** The Eunomia tables loaded into PostgreSQL (lower-case columns, as most CDM databases have). */
const TABLES = ["person", "concept", "concept_ancestor", "condition_era", "drug_era"];
const createdAt = new Date("2026-12-01T00:00:00.000Z");

// The same throwaway PostgreSQL the db package's tests start (packages/db/test/postgres.ts).
let server: TestPostgres | undefined;
let work: Awaited<ReturnType<typeof temporaryDirectory>> | undefined;
beforeAll(async () => {
  if (sharedDataMissing) return;
  server = await startTestPostgres();
  work = await temporaryDirectory("pg");
});
afterAll(async () => {
  if (server?.url !== undefined) await server.stop();
  await work?.remove();
});

describe.skipIf(sharedDataMissing)(
  `importing OMOP from PostgreSQL ${sharedDataMissing ?? ""}`,
  () => {
    it("gives the same dataset, byte for byte, as the CSV files it was loaded from", async (context) => {
      if (server?.url === undefined) {
        context.skip(
          `PostgreSQL is not available: ${server && "skipReason" in server ? server.skipReason : ""}`,
        );
        return;
      }
      const root = work?.path as string;
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const db = await openQueries();
      try {
        await client.query("CREATE SCHEMA cdm");
        for (const table of TABLES) {
          const reader = await db.connection.runAndReadAll(
            `SELECT * FROM read_csv(${literal(join(EUNOMIA, `${table}.csv`))}, header = true, all_varchar = true)`,
          );
          const columns = reader.columnNames().map((name) => name.toLowerCase());
          await client.query(
            `CREATE TABLE cdm.${table} (${columns.map((c) => `${c} text`).join(", ")})`,
          );
          const rows = reader.getRows() as (string | null)[][];
          for (let start = 0; start < rows.length; start += 20_000) {
            const batch = rows.slice(start, start + 20_000);
            await client.query(
              `INSERT INTO cdm.${table} SELECT * FROM unnest(${columns.map((_, i) => `$${i + 1}::text[]`).join(", ")})`,
              columns.map((_, i) => batch.map((row) => row[i] ?? null)),
            );
          }
        }
      } finally {
        await client.end();
        db.close();
      }
      const csvDir = join(root, "csv");
      await mkdir(csvDir);
      for (const table of TABLES) {
        await copyFile(join(EUNOMIA, `${table}.csv`), join(csvDir, `${table}.csv`));
      }
      const options = { secret: TEST_SECRET, title: "Eunomia GiBleed", createdAt };
      const fromPostgres = await importOmop(server.url, {
        ...options,
        schema: "cdm",
        outDir: join(root, "from-postgres"),
      });
      const fromCsv = await importOmop(csvDir, { ...options, outDir: join(root, "from-csv") });
      expect(fromPostgres.manifest.contentHash).toBe(fromCsv.manifest.contentHash);
      expect(fromPostgres.manifest.personCount).toBe(2694);
    });

    it("names the table and row of a bad value", async (context) => {
      if (server?.url === undefined) {
        context.skip("PostgreSQL is not available");
        return;
      }
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        await client.query("CREATE SCHEMA broken");
        await client.query(
          "CREATE TABLE broken.person (person_id text, gender_concept_id text, year_of_birth text)",
        );
        await client.query(
          "INSERT INTO broken.person VALUES ('1', '8507', '1950'), ('2', '8532', 'nineteen'), ('3', '8507', '1970')",
        );
        await client.query("CREATE TABLE broken.concept AS SELECT * FROM cdm.concept");
      } finally {
        await client.end();
      }
      await expect(
        importOmop(server.url, {
          schema: "broken",
          secret: TEST_SECRET,
          title: "x",
          outDir: join(work?.path as string, "broken"),
        }),
      ).rejects.toThrow(
        /^postgres broken\.person row 2: malformed row: column year_of_birth does not hold a valid integer/,
      );
    });
  },
);
