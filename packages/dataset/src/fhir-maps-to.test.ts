import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImportReport } from "./build";
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

/**
 * FHIR codings map to OMOP standard concepts as OMOP ETLs map source codes: a standard
 * concept is itself, a non-standard one follows its "Maps to" relationships, and a coding with
 * neither keeps concept 0 (counted in the report). Every expectation is computed with DuckDB
 * from the shared files (the Synthea NDJSON, Eunomia's concept.csv and concept_relationship.csv).
 */
const NDC = "http://hl7.org/fhir/sid/ndc";

describe.skipIf(sharedDataMissing)(`FHIR "Maps to" ${sharedDataMissing ?? ""}`, () => {
  let work: Awaited<ReturnType<typeof temporaryDirectory>>;
  let db: Awaited<ReturnType<typeof openQueries>>;
  let sample: ImportReport;
  let ndcExport: string;
  let ndc: ImportReport;
  const parquet = (report: ImportReport, table: string) =>
    literal(join(report.outDir, `${table}.parquet`));
  const ndjson = (dir: string, type: string) =>
    `read_ndjson_objects(${literal(join(dir, `${type}.000.ndjson`))})`;

  beforeAll(async () => {
    work = await temporaryDirectory("maps-to");
    db = await openQueries();
    await db.connection.run(
      `CREATE VIEW concept AS SELECT * FROM read_csv(${literal(join(EUNOMIA, "concept.csv"))})`,
    );
    await db.connection.run(
      `CREATE VIEW concept_relationship AS SELECT * FROM read_csv(${literal(join(EUNOMIA, "concept_relationship.csv"))})`,
    );
    // The standard concept of each (vocabulary, code), as the source files say.
    await db.connection.run(`CREATE VIEW expected_standard AS
      SELECT c.VOCABULARY_ID AS vocabulary, c.CONCEPT_CODE AS code,
        CASE WHEN c.STANDARD_CONCEPT = 'S' THEN c.CONCEPT_ID ELSE coalesce(r.CONCEPT_ID_2, 0) END AS concept_id
      FROM concept c LEFT JOIN concept_relationship r
        ON r.CONCEPT_ID_1 = c.CONCEPT_ID AND r.RELATIONSHIP_ID = 'Maps to' AND r.INVALID_REASON IS NULL`);

    sample = await importFhir(FHIR_SAMPLE, {
      outDir: join(work.path, "sample"),
      secret: TEST_SECRET,
      title: "Synthea 10 patients",
      vocabulary: EUNOMIA,
    });

    // The sample's prescriptions recoded as the NDC products of Eunomia's vocabulary that
    // have a "Maps to" (an NDC code is never standard: OMOP maps it to RxNorm).
    const ndcCodes = await db.rows(
      `SELECT c.CONCEPT_CODE AS code, c.CONCEPT_NAME AS name FROM concept c
       WHERE c.VOCABULARY_ID = 'NDC' AND c.CONCEPT_ID IN
         (SELECT CONCEPT_ID_1 FROM concept_relationship WHERE RELATIONSHIP_ID = 'Maps to')
       ORDER BY 1`,
    );
    expect(ndcCodes.length).toBeGreaterThan(0);
    ndcExport = join(work.path, "ndc-export");
    await mkdir(ndcExport);
    await copyFile(join(FHIR_SAMPLE, "Patient.000.ndjson"), join(ndcExport, "Patient.000.ndjson"));
    const lines = (await readFile(join(FHIR_SAMPLE, "MedicationRequest.000.ndjson"), "utf8"))
      .split("\n")
      .filter((line) => line.trim() !== "");
    const recoded = lines.map((line, index) => {
      const resource = JSON.parse(line);
      const product = ndcCodes[index % ndcCodes.length] as { code: string; name: string };
      resource.medicationCodeableConcept = {
        coding: [{ system: NDC, code: product.code, display: product.name }],
      };
      return JSON.stringify(resource);
    });
    await writeFile(join(ndcExport, "MedicationRequest.000.ndjson"), `${recoded.join("\n")}\n`);
    ndc = await importFhir(ndcExport, {
      outDir: join(work.path, "ndc"),
      secret: TEST_SECRET,
      title: "Synthea prescriptions as NDC",
      vocabulary: EUNOMIA,
    });
  });
  afterAll(async () => {
    db?.close();
    await work?.remove();
  });

  it("gives each coding of the sample the standard concept the vocabulary maps it to, else 0", async () => {
    const sourceCodings = `
      SELECT 'condition' AS kind, json_extract_string(json, '$.code.coding[0].code') AS code, 'SNOMED' AS vocabulary FROM ${ndjson(FHIR_SAMPLE, "Condition")}
      UNION ALL SELECT 'drug', json_extract_string(json, '$.medicationCodeableConcept.coding[0].code'), 'RxNorm' FROM ${ndjson(FHIR_SAMPLE, "MedicationRequest")}
      UNION ALL SELECT 'drug', json_extract_string(json, '$.vaccineCode.coding[0].code'), 'CVX' FROM ${ndjson(FHIR_SAMPLE, "Immunization")}`;
    for (const [kind, table, prefix] of [
      ["condition", "condition_occurrence", "condition"],
      ["drug", "drug_exposure", "drug"],
    ] as const) {
      const expected = await db.rows(
        `SELECT s.vocabulary, s.code, coalesce(e.concept_id, 0)::INTEGER AS concept_id, count(*)::INTEGER AS n
         FROM (${sourceCodings}) s LEFT JOIN expected_standard e ON e.vocabulary = s.vocabulary AND e.code = s.code
         WHERE s.kind = '${kind}' GROUP BY ALL ORDER BY ALL`,
      );
      const imported = await db.rows(
        `SELECT ${prefix}_vocabulary AS vocabulary, ${prefix}_code AS code, ${prefix}_concept_id AS concept_id, count(*)::INTEGER AS n
         FROM ${parquet(sample, table)} GROUP BY ALL ORDER BY ALL`,
      );
      expect(imported, table).toEqual(expected);
      const unmapped = expected.filter((row) => row.concept_id === 0);
      expect(unmapped.length, `${table} has codes the vocabulary lacks`).toBeGreaterThan(0);
      expect(sample.unmapped.find((u) => u.table === table)).toEqual({
        table,
        rows: unmapped.reduce((sum, row) => sum + Number(row.n), 0),
        codes: unmapped.length,
      });
    }
  });

  it("follows Maps to from a non-standard source code (NDC) to its RxNorm concept, keeping the source code", async () => {
    const expected = await db.rows(
      `SELECT 'NDC' AS vocabulary, json_extract_string(json, '$.medicationCodeableConcept.coding[0].code') AS code,
         e.concept_id::INTEGER AS concept_id, count(*)::INTEGER AS n
       FROM ${ndjson(ndcExport, "MedicationRequest")} s
       JOIN expected_standard e ON e.vocabulary = 'NDC' AND e.code = json_extract_string(s.json, '$.medicationCodeableConcept.coding[0].code')
       GROUP BY ALL ORDER BY ALL`,
    );
    expect(expected.every((row) => Number(row.concept_id) > 0)).toBe(true);
    const imported = await db.rows(
      `SELECT drug_vocabulary AS vocabulary, drug_code AS code, drug_concept_id AS concept_id, count(*)::INTEGER AS n
       FROM ${parquet(ndc, "drug_exposure")} GROUP BY ALL ORDER BY ALL`,
    );
    expect(imported).toEqual(expected);
    expect(ndc.unmapped).toEqual([]);
    // The mapped RxNorm concepts are standard, named as the vocabulary names them.
    const names = await db.rows(
      `SELECT i.concept_id, i.concept_name, c.CONCEPT_NAME AS source_name
       FROM (SELECT DISTINCT drug_concept_id FROM ${parquet(ndc, "drug_exposure")}) d
       JOIN ${parquet(ndc, "concept")} i ON i.concept_id = d.drug_concept_id
       JOIN concept c ON c.CONCEPT_ID = i.concept_id AND c.STANDARD_CONCEPT = 'S' AND c.VOCABULARY_ID = 'RxNorm'`,
    );
    expect(names.length).toBe(new Set(expected.map((row) => row.concept_id)).size);
    for (const row of names) expect(row.concept_name).toBe(row.source_name);
  });
});
