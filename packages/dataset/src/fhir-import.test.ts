import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_BOUNDS, type ImportReport } from "./build";
import { importFhir } from "./fhir-import";
import {
  EUNOMIA,
  FHIR_SAMPLE,
  literal,
  openQueries,
  sharedDataMissing,
  TEST_SECRET,
  temporaryDirectory,
} from "./testing";
import { verifyDataset } from "./verify";

const ndjson = (type: string) =>
  `read_ndjson_objects(${literal(join(FHIR_SAMPLE, `${type}.000.ndjson`))})`;
/** The patient id behind a FHIR reference, and a resource's first coding, in DuckDB SQL. */
const patientOf = (path: string) =>
  `regexp_extract(json_extract_string(json, '${path}'), '([^/:]+)$', 1)`;
const firstCode = (path: string) => `json_extract_string(json, '${path}.coding[0].code')`;

describe.skipIf(sharedDataMissing)(
  `importing the Synthea FHIR R4 Bulk export ${sharedDataMissing ?? ""}`,
  () => {
    let work: Awaited<ReturnType<typeof temporaryDirectory>>;
    let plain: ImportReport;
    let mapped: ImportReport;
    let db: Awaited<ReturnType<typeof openQueries>>;
    const parquet = (report: ImportReport, table: string) =>
      literal(join(report.outDir, `${table}.parquet`));

    beforeAll(async () => {
      work = await temporaryDirectory("fhir");
      plain = await importFhir(FHIR_SAMPLE, {
        outDir: join(work.path, "plain"),
        secret: TEST_SECRET,
        title: "Synthea 10 patients",
      });
      // The OMOP vocabulary shipped with Eunomia (also Synthea) maps the codings to concepts.
      mapped = await importFhir(FHIR_SAMPLE, {
        outDir: join(work.path, "mapped"),
        secret: TEST_SECRET,
        title: "Synthea 10 patients",
        vocabulary: EUNOMIA,
      });
      db = await openQueries();
      // The source codings in Eunomia's vocabulary, for the hierarchy checks below.
      await db.connection.run(
        `CREATE VIEW concept AS SELECT * FROM read_csv(${literal(join(EUNOMIA, "concept.csv"))})`,
      );
      await db.connection.run(
        `CREATE VIEW concept_ancestor AS SELECT * FROM read_csv(${literal(join(EUNOMIA, "concept_ancestor.csv"))})`,
      );
    });
    afterAll(async () => {
      db?.close();
      await work?.remove();
    });

    it("declares bounds from the steward's config or the documented defaults, never from the data", async () => {
      const declared = (report: ImportReport, table: string, column: string) =>
        report.manifest.tables.find((t) => t.name === table)?.columns.find((c) => c.name === column)
          ?.bounds;
      expect(declared(plain, "person", "year_of_birth")).toEqual(DEFAULT_BOUNDS.year_of_birth);
      expect(declared(plain, "measurement", "value_as_number")).toEqual(
        DEFAULT_BOUNDS.value_as_number,
      );
      const configured = await importFhir(FHIR_SAMPLE, {
        outDir: join(work.path, "configured"),
        secret: TEST_SECRET,
        title: "Synthea 10 patients",
        bounds: { year_of_birth: { min: 1880, max: 2030 }, value_as_number: { min: 0, max: 400 } },
      });
      expect(declared(configured, "person", "year_of_birth")).toEqual({ min: 1880, max: 2030 });
      expect(declared(configured, "measurement", "value_as_number")).toEqual({ min: 0, max: 400 });
    });

    it("writes folders that verify", async () => {
      expect(await verifyDataset(plain.outDir)).toMatchObject({ ok: true });
      expect(await verifyDataset(mapped.outDir)).toMatchObject({ ok: true });
    });

    it("has the source's patients per gender and year-of-birth decade", async () => {
      const source = await db.rows(
        `SELECT CASE json_extract_string(json, '$.gender') WHEN 'male' THEN 'M' WHEN 'female' THEN 'F' END AS sex,
         (year(json_extract_string(json, '$.birthDate')::DATE) // 10 * 10)::INTEGER AS decade, count(*)::INTEGER AS persons
       FROM ${ndjson("Patient")} GROUP BY ALL ORDER BY ALL`,
      );
      for (const report of [plain, mapped]) {
        const imported = await db.rows(
          `SELECT sex, (year_of_birth // 10 * 10)::INTEGER AS decade, count(*)::INTEGER AS persons
         FROM ${parquet(report, "person")} GROUP BY ALL ORDER BY ALL`,
        );
        expect(imported).toEqual(source);
      }
    });

    it("has the source's patients with the most frequent condition code, by vocabulary and code", async () => {
      const [top] = await db.rows(
        `SELECT ${firstCode("$.code")} AS code, count(DISTINCT ${patientOf("$.subject.reference")})::INTEGER AS persons
       FROM ${ndjson("Condition")} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`,
      );
      const imported = await db.number(
        `SELECT count(DISTINCT person_id) FROM ${parquet(plain, "condition_occurrence")}
       WHERE condition_vocabulary = 'SNOMED' AND condition_code = $code`,
        { code: String(top?.code) },
      );
      expect(imported).toBe(top?.persons);
    });

    it("has the source's patients under a condition concept and its descendants (Eunomia vocabulary)", async () => {
      const sourceCodes = `SELECT ${patientOf("$.subject.reference")} AS patient, c.concept_id
      FROM ${ndjson("Condition")} JOIN concept c ON c.vocabulary_id = 'SNOMED' AND c.concept_code = ${firstCode("$.code")}`;
      // The ancestor over the most distinct codes in this export, chosen from the source.
      const ancestor = await db.number(
        `SELECT ancestor_concept_id FROM concept_ancestor
       WHERE descendant_concept_id IN (SELECT concept_id FROM (${sourceCodes}))
         AND ancestor_concept_id <> descendant_concept_id
       GROUP BY 1 ORDER BY count(DISTINCT descendant_concept_id) DESC, 1 LIMIT 1`,
      );
      const source = await db.number(
        `SELECT count(DISTINCT patient) FROM (${sourceCodes}) WHERE concept_id IN
         (SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id = $ancestor)`,
        { ancestor },
      );
      const imported = await db.number(
        `SELECT count(DISTINCT person_id) FROM ${parquet(mapped, "condition_occurrence")}
       WHERE condition_concept_id IN (SELECT descendant_concept_id FROM ${parquet(mapped, "concept_ancestor")}
         WHERE ancestor_concept_id = $ancestor)`,
        { ancestor },
      );
      expect(imported).toBe(source);
      expect(source).toBeGreaterThan(0);
    });

    it("has the source's patients exposed to the most prescribed drug ingredient (RxNorm hierarchy)", async () => {
      const sourceDrugs = `SELECT ${patientOf("$.subject.reference")} AS patient, c.concept_id
      FROM ${ndjson("MedicationRequest")}
      JOIN concept c ON c.vocabulary_id = 'RxNorm' AND c.concept_code = ${firstCode("$.medicationCodeableConcept")}`;
      const ingredient = await db.number(
        `SELECT a.ancestor_concept_id FROM (${sourceDrugs}) d
       JOIN concept_ancestor a ON a.descendant_concept_id = d.concept_id
       JOIN concept i ON i.concept_id = a.ancestor_concept_id AND i.concept_class_id = 'Ingredient'
       GROUP BY 1 ORDER BY count(DISTINCT d.patient) DESC, 1 LIMIT 1`,
      );
      const source = await db.number(
        `SELECT count(DISTINCT patient) FROM (${sourceDrugs}) WHERE concept_id IN
         (SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id = $ingredient)`,
        { ingredient },
      );
      const imported = await db.number(
        `SELECT count(DISTINCT person_id) FROM ${parquet(mapped, "drug_exposure")}
       WHERE drug_concept_id IN (SELECT descendant_concept_id FROM ${parquet(mapped, "concept_ancestor")}
         WHERE ancestor_concept_id = $ingredient)`,
        { ingredient },
      );
      expect(imported).toBe(source);
      expect(source).toBeGreaterThan(0);
    });

    it("keeps every coded event, without shipping concepts made up from the codings present", async () => {
      const sourceEvents = await db.number(
        `SELECT (SELECT count(*) FROM ${ndjson("MedicationRequest")}) + (SELECT count(*) FROM ${ndjson("Immunization")})`,
      );
      expect(plain.tables.find((t) => t.name === "drug_exposure")?.rows).toBe(sourceEvents);
      expect(mapped.tables.find((t) => t.name === "drug_exposure")?.rows).toBe(sourceEvents);
      // Red team: a concept the importer made up for a coding it found would tell anyone who
      // searches the public vocabulary (or expands descendant_of) that some patient has it.
      // Without a vocabulary only the fixed visit concepts ship; the events keep their codes.
      const shipped = await db.number(`SELECT count(*) FROM ${parquet(plain, "concept")}`);
      expect(shipped).toBe(3);
      const ancestors = await db.number(
        `SELECT count(*) FROM ${parquet(plain, "concept_ancestor")} WHERE ancestor_concept_id > 9203`,
      );
      expect(ancestors).toBe(0);
      const sourceCodes = await db.number(
        `SELECT count(DISTINCT (drug_vocabulary, drug_code)) FROM ${parquet(plain, "drug_exposure")} WHERE drug_concept_id = 0`,
      );
      expect(sourceCodes).toBe(
        await db.number(
          `SELECT count(DISTINCT (drug_vocabulary, drug_code)) FROM ${parquet(plain, "drug_exposure")}`,
        ),
      );
      expect(sourceCodes).toBeGreaterThan(0);
    });

    it("drops names, addresses, identifiers, exact birth dates and free text, and says so", async () => {
      const dropped = new Map(plain.dropped.map((d) => [d.what, d.count]));
      const patients = await db.number(`SELECT count(*) FROM ${ndjson("Patient")}`);
      for (const field of ["name", "address", "identifier", "birthDate", "text"]) {
        expect(dropped.get(`Patient.${field}`), field).toBe(patients);
      }
      expect(dropped.get("AllergyIntolerance resources")).toBe(
        await db.number(`SELECT count(*) FROM ${ndjson("AllergyIntolerance")}`),
      );
      const sourceIds = await db.number(
        `SELECT count(*) FROM ${parquet(plain, "person")} WHERE person_id::VARCHAR IN
         (SELECT json_extract_string(json, '$.id') FROM ${ndjson("Patient")})`,
      );
      expect(sourceIds).toBe(0);
    });
  },
);
