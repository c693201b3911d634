import { chmod, cp } from "node:fs/promises";
import { join } from "node:path";
import { createComputeEngine, InMemoryBudgetLedger } from "@opencohort/compute";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImportReport } from "./build";
import { importOmop } from "./omop-import";
import {
  EUNOMIA,
  literal,
  openQueries,
  sharedDataMissing,
  TEST_SECRET,
  temporaryDirectory,
} from "./testing";
import { verifyDataset } from "./verify";

const createdAt = new Date("2026-12-01T00:00:00.000Z");
const csv = (table: string) => literal(join(EUNOMIA, `${table}.csv`));

describe.skipIf(sharedDataMissing)(
  `importing Eunomia GiBleed (OMOP CDM 5.3 CSV) ${sharedDataMissing ?? ""}`,
  () => {
    let work: Awaited<ReturnType<typeof temporaryDirectory>>;
    let report: ImportReport;
    let db: Awaited<ReturnType<typeof openQueries>>;
    const out = () => join(work.path, "eunomia");
    const parquet = (table: string) => literal(join(out(), `${table}.parquet`));

    beforeAll(async () => {
      work = await temporaryDirectory("omop");
      report = await importOmop(EUNOMIA, {
        outDir: out(),
        secret: TEST_SECRET,
        title: "Eunomia GiBleed",
        // This copy's observation_period also covers persons not in its person.csv.
        skipOrphans: true,
        createdAt,
      });
      db = await openQueries();
    });
    afterAll(async () => {
      db?.close();
      await work?.remove();
    });

    it("writes a folder that verifies: schema omop-lite/2, content hash, Parquet columns", async () => {
      const verified = await verifyDataset(out());
      expect(verified).toMatchObject({ ok: true });
      expect(report.manifest.schemaVersion).toBe("omop-lite/2");
      expect(report.manifest.tables.map((t) => t.name)).toEqual([
        "person",
        "condition_occurrence",
        "drug_exposure",
        "procedure_occurrence",
        "observation",
        "visit_occurrence",
        "observation_period",
        "death",
      ]);
      expect(report.manifest.vocabulary?.map((t) => t.name)).toEqual([
        "concept",
        "concept_ancestor",
      ]);
    });

    it("has the source's persons per gender and year-of-birth decade", async () => {
      const source = await db.rows(
        `SELECT CASE gender_concept_id WHEN 8507 THEN 'M' WHEN 8532 THEN 'F' END AS sex,
         (year_of_birth // 10 * 10)::INTEGER AS decade, count(*)::INTEGER AS persons
       FROM ${csv("person")} GROUP BY ALL ORDER BY ALL`,
      );
      const imported = await db.rows(
        `SELECT sex, (year_of_birth // 10 * 10)::INTEGER AS decade, count(*)::INTEGER AS persons
       FROM ${parquet("person")} GROUP BY ALL ORDER BY ALL`,
      );
      expect(imported).toEqual(source);
      expect(report.manifest.personCount).toBe(
        await db.number(`SELECT count(*) FROM ${csv("person")}`),
      );
    });

    /** Persons with a condition concept or any of its descendants, in the source and imported. */
    const personsWithCondition = async (ancestor: number) => ({
      source: await db.number(
        `SELECT count(DISTINCT person_id) FROM ${csv("condition_era")}
       WHERE condition_concept_id IN (SELECT descendant_concept_id FROM ${csv("concept_ancestor")}
         WHERE ancestor_concept_id = $ancestor UNION SELECT $ancestor)`,
        { ancestor },
      ),
      imported: await db.number(
        `SELECT count(DISTINCT person_id) FROM ${parquet("condition_occurrence")}
       WHERE condition_concept_id IN (SELECT descendant_concept_id FROM ${parquet("concept_ancestor")}
         WHERE ancestor_concept_id = $ancestor)`,
        { ancestor },
      ),
    });

    it("has the source's persons with gastrointestinal hemorrhage (192671) and its descendants", async () => {
      const counts = await personsWithCondition(192671);
      expect(counts.imported).toBe(counts.source);
      expect(counts.source).toBeGreaterThan(0);
    });

    it("has the source's persons under the condition concept with the most descendants in use", async () => {
      // Chosen from the source, so the hierarchy is really exercised (not one concept alone).
      const ancestor = await db.number(
        `SELECT ancestor_concept_id FROM ${csv("concept_ancestor")}
       WHERE descendant_concept_id IN (SELECT condition_concept_id FROM ${csv("condition_era")})
         AND ancestor_concept_id <> descendant_concept_id
       GROUP BY 1 ORDER BY count(DISTINCT descendant_concept_id) DESC, 1 LIMIT 1`,
      );
      const counts = await personsWithCondition(ancestor);
      expect(counts.imported).toBe(counts.source);
      expect(counts.source).toBeGreaterThan(0);
    });

    it("has the source's persons exposed to each NSAID ingredient (celecoxib, diclofenac) and its products", async () => {
      for (const name of ["celecoxib", "Diclofenac"]) {
        const ingredient = await db.number(
          `SELECT concept_id FROM ${csv("concept")} WHERE concept_name = $name AND concept_class_id = 'Ingredient'`,
          { name },
        );
        const source = await db.number(
          `SELECT count(DISTINCT person_id) FROM ${csv("drug_era")}
         WHERE drug_concept_id IN (SELECT descendant_concept_id FROM ${csv("concept_ancestor")}
           WHERE ancestor_concept_id = $ingredient UNION SELECT $ingredient)`,
          { ingredient },
        );
        const imported = await db.number(
          `SELECT count(DISTINCT person_id) FROM ${parquet("drug_exposure")}
         WHERE drug_concept_id IN (SELECT descendant_concept_id FROM ${parquet("concept_ancestor")}
           WHERE ancestor_concept_id = $ingredient)`,
          { ingredient },
        );
        expect(imported, name).toBe(source);
        expect(source, name).toBeGreaterThan(0);
      }
    });

    it("names events by concept, vocabulary and code, and ships the concepts they use", async () => {
      const unnamed = await db.number(
        `SELECT count(*) FROM ${parquet("condition_occurrence")} e
       LEFT JOIN ${parquet("concept")} c ON c.concept_id = e.condition_concept_id
       WHERE c.concept_id IS NULL OR c.vocabulary_id <> e.condition_vocabulary OR c.concept_code <> e.condition_code`,
      );
      expect(unnamed).toBe(0);
      const [gi] = await db.rows(
        `SELECT concept_name, vocabulary_id, concept_code, domain_id FROM ${parquet("concept")} WHERE concept_id = 192671`,
      );
      expect(gi).toEqual(
        (
          await db.rows(
            `SELECT concept_name AS concept_name, vocabulary_id AS vocabulary_id, concept_code AS concept_code,
             domain_id AS domain_id FROM ${csv("concept")} WHERE concept_id = 192671`,
          )
        )[0],
      );
    });

    it("replaces person ids by keyed pseudonyms and reports what it dropped", async () => {
      const overlap = await db.number(
        `SELECT count(*) FROM ${parquet("person")} WHERE person_id IN (SELECT person_id FROM ${csv("person")})`,
      );
      expect(overlap).toBe(0);
      const dropped = report.dropped.map((d) => d.what).join("\n");
      expect(dropped).toMatch(/birth_datetime/);
      expect(dropped).toMatch(/person_source_value/);
      expect(dropped).toMatch(/note/);
      const orphans = report.dropped.find((d) =>
        d.what.startsWith("observation_period rows about persons"),
      );
      expect(orphans?.count).toBe(
        await db.number(
          `SELECT count(*) FROM ${csv("observation_period")} WHERE person_id NOT IN (SELECT person_id FROM ${csv("person")})`,
        ),
      );
      const eventRows = await db.number(
        `SELECT count(*) FROM ${csv("condition_era")} WHERE condition_concept_id <> 0`,
      );
      expect(report.tables.find((t) => t.name === "condition_occurrence")?.rows).toBe(eventRows);
    });

    it("reads the same export from a DuckDB file (typed tables) into the same bytes", async () => {
      const file = join(work.path, "cdm.duckdb");
      await db.connection.run(`ATTACH ${literal(file)} AS cdm`);
      for (const table of [
        "person",
        "concept",
        "concept_ancestor",
        "condition_era",
        "drug_era",
        "procedure_occurrence",
        "observation",
        "visit_occurrence",
        "observation_period",
        "death",
      ]) {
        await db.connection.run(`CREATE TABLE cdm.${table} AS SELECT * FROM ${csv(table)}`);
      }
      await db.connection.run("DETACH cdm");
      const fromDuckDb = await importOmop(file, {
        outDir: join(work.path, "from-duckdb"),
        secret: TEST_SECRET,
        title: "Eunomia GiBleed",
        skipOrphans: true,
        createdAt,
      });
      expect(fromDuckDb.manifest.contentHash).toBe(report.manifest.contentHash);
    });

    it("answers the cohort 'GI hemorrhage and descendants, exposed to an NSAID' by sex and age band", async () => {
      const nsaids = await db.rows(
        `SELECT concept_id::INTEGER AS id FROM ${csv("concept")}
       WHERE concept_class_id = 'Ingredient' AND concept_name IN ('celecoxib', 'Diclofenac')`,
      );
      const engine = createComputeEngine({
        logger: { warn: () => undefined, error: () => undefined },
        limits: { memoryMb: 256, threads: 1, timeoutMs: 20_000, workers: 1 },
        noiseSecret: "test-noise-secret-0123456789",
      });
      try {
        const dataset = await engine.catalogue(out());
        const persons = await db.rows(`SELECT person_id FROM ${parquet("person")}`);
        const outcome = await engine.run({
          dataset,
          query: {
            cohort: {
              inclusion: [
                { domain: "condition", concepts: [{ id: 192671 }] },
                { domain: "drug", concepts: nsaids.map((n) => ({ id: Number(n.id) })) },
              ],
              output: { groupBy: ["sex", "age_band"], ageBandWidth: 20 },
            },
          },
          consentedPersonIds: persons.map((p) => BigInt(p.person_id as bigint)),
          snapshotBlock: 1n,
          params: { minCellSize: 11, roundingBase: 5, epsilonPerQuery: 0.5 },
          budget: {
            ledger: new InMemoryBudgetLedger(100),
            researcher: "0xr",
            datasetId: "eunomia",
          },
        });
        if (!outcome.ok) throw new Error(JSON.stringify(outcome.error));
        const { columns, rows } = outcome.researcherResult;
        expect(columns.map((c) => c.name).slice(0, 3)).toEqual(["sex", "age_band", "persons"]);
        expect(rows.length).toBeGreaterThan(0);
        for (const row of rows) expect(["F", "M"]).toContain(row[0]);
        // Released counts are rounded to the governed base: noisy, never exact.
        for (const row of rows) expect(Number(row[2]) % 5).toBe(0);
      } finally {
        await engine.close();
      }
    }, 60_000);

    it("ships the source's vocabulary whole: the hierarchy descendant_of expands over is the same whether or not a rare concept occurs", async () => {
      // The rarest condition that has an ancestor other than itself in the source vocabulary.
      const rare = await db.number(
        `SELECT e.CONDITION_CONCEPT_ID FROM ${csv("condition_era")} e
         WHERE e.CONDITION_CONCEPT_ID IN (SELECT descendant_concept_id FROM ${csv("concept_ancestor")}
           WHERE ancestor_concept_id <> descendant_concept_id)
         GROUP BY 1 ORDER BY count(DISTINCT e.PERSON_ID), 1 LIMIT 1`,
      );
      // A copy of the export in which nobody has it.
      const without = join(work.path, "eunomia-without-rare");
      await cp(EUNOMIA, without, { recursive: true });
      await chmod(join(without, "condition_era.csv"), 0o644);
      await db.connection.run(
        `COPY (SELECT * FROM ${csv("condition_era")} WHERE CONDITION_CONCEPT_ID <> ${rare})
         TO ${literal(join(without, "condition_era.csv"))} (HEADER, DELIMITER ',')`,
      );
      const outWithout = join(work.path, "eunomia-without-rare-out");
      await importOmop(without, {
        outDir: outWithout,
        secret: TEST_SECRET,
        title: "Eunomia GiBleed",
        skipOrphans: true,
        createdAt,
      });
      const occurs = (dir: string) =>
        db.number(
          `SELECT count(*) FROM ${literal(join(dir, "condition_occurrence.parquet"))}
           WHERE condition_concept_id = ${rare}`,
        );
      expect(await occurs(out())).toBeGreaterThan(0);
      expect(await occurs(outWithout)).toBe(0);
      const contents = (dir: string, table: string) =>
        db.rows(`SELECT * FROM ${literal(join(dir, `${table}.parquet`))} ORDER BY ALL`);
      for (const table of ["concept", "concept_ancestor"]) {
        expect(await contents(outWithout, table)).toEqual(await contents(out(), table));
      }
    }, 120_000);
  },
);
