/**
 * Import throughput: a synthetic cohort written as an OMOP CDM CSV folder (upper-case headers,
 * as Eunomia) and as a FHIR R4 Bulk NDJSON export, each imported by the real CLI in its own
 * process so its peak memory is its own. Prints source rows, seconds, rows/s and peak RSS.
 *
 *   pnpm --filter @opencohort/dataset bench [-- --persons 1000000]
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DuckDBInstance } from "@duckdb/node-api";
import { generateCohort } from "@opencohort/synth";

const { values } = parseArgs({
  options: { persons: { type: "string", default: "100000" } },
});
const persons = Number(values.persons);
const root = join(import.meta.dirname, "..", ".bench-data", `persons-${persons}`);
const synthDir = join(root, "synth");
const omopDir = join(root, "omop-csv");
const fhirDir = join(root, "fhir-ndjson");

const log = (line: string) => process.stderr.write(`${line}\n`);

if (!existsSync(join(synthDir, "manifest.json"))) {
  log(`generating ${persons.toLocaleString("en-US")} synthetic persons ...`);
  await generateCohort({ persons, seed: 42, outDir: synthDir, createdAt: new Date("2026-12-01") });
}

const instance = await DuckDBInstance.create(":memory:", { threads: "2" });
const db = await instance.connect();
const parquet = (table: string) => `read_parquet('${join(synthDir, `${table}.parquet`)}')`;
const count = async (sql: string) => Number((await db.runAndReadAll(sql)).getRows()[0]?.[0]);

/** OMOP CDM 5.4 tables with the columns an export has (ids, type concepts, source values). */
const OMOP_EXPORT: Record<string, string> = {
  person: `SELECT person_id AS PERSON_ID, CASE sex WHEN 'M' THEN 8507 ELSE 8532 END AS GENDER_CONCEPT_ID,
      year_of_birth AS YEAR_OF_BIRTH, 6 AS MONTH_OF_BIRTH, 15 AS DAY_OF_BIRTH, 0 AS RACE_CONCEPT_ID,
      0 AS ETHNICITY_CONCEPT_ID, NULL AS LOCATION_ID, 'P' || person_id AS PERSON_SOURCE_VALUE FROM ${parquet("person")}`,
  observation_period: `SELECT row_number() OVER () AS OBSERVATION_PERIOD_ID, person_id AS PERSON_ID,
      observation_period_start_date AS OBSERVATION_PERIOD_START_DATE, observation_period_end_date AS OBSERVATION_PERIOD_END_DATE,
      44814724 AS PERIOD_TYPE_CONCEPT_ID FROM ${parquet("observation_period")}`,
  condition_occurrence: `SELECT row_number() OVER () AS CONDITION_OCCURRENCE_ID, person_id AS PERSON_ID,
      condition_concept_id AS CONDITION_CONCEPT_ID, condition_start_date AS CONDITION_START_DATE,
      condition_end_date AS CONDITION_END_DATE, 32817 AS CONDITION_TYPE_CONCEPT_ID,
      condition_code AS CONDITION_SOURCE_VALUE, condition_concept_id AS CONDITION_SOURCE_CONCEPT_ID FROM ${parquet("condition_occurrence")}`,
  drug_exposure: `SELECT row_number() OVER () AS DRUG_EXPOSURE_ID, person_id AS PERSON_ID, drug_concept_id AS DRUG_CONCEPT_ID,
      drug_exposure_start_date AS DRUG_EXPOSURE_START_DATE, drug_exposure_end_date AS DRUG_EXPOSURE_END_DATE,
      32817 AS DRUG_TYPE_CONCEPT_ID, days_supply AS DAYS_SUPPLY, drug_code AS DRUG_SOURCE_VALUE,
      drug_concept_id AS DRUG_SOURCE_CONCEPT_ID FROM ${parquet("drug_exposure")}`,
  measurement: `SELECT row_number() OVER () AS MEASUREMENT_ID, person_id AS PERSON_ID, measurement_concept_id AS MEASUREMENT_CONCEPT_ID,
      measurement_date AS MEASUREMENT_DATE, 32817 AS MEASUREMENT_TYPE_CONCEPT_ID, value_as_number AS VALUE_AS_NUMBER,
      measurement_code AS MEASUREMENT_SOURCE_VALUE, measurement_concept_id AS MEASUREMENT_SOURCE_CONCEPT_ID,
      unit AS UNIT_SOURCE_VALUE FROM ${parquet("measurement")}`,
  visit_occurrence: `SELECT row_number() OVER () AS VISIT_OCCURRENCE_ID, person_id AS PERSON_ID, visit_concept_id AS VISIT_CONCEPT_ID,
      visit_start_date AS VISIT_START_DATE, visit_end_date AS VISIT_END_DATE, 32817 AS VISIT_TYPE_CONCEPT_ID FROM ${parquet("visit_occurrence")}`,
  concept: `SELECT concept_id AS CONCEPT_ID, concept_name AS CONCEPT_NAME, domain_id AS DOMAIN_ID, vocabulary_id AS VOCABULARY_ID,
      'Bench' AS CONCEPT_CLASS_ID, 'S' AS STANDARD_CONCEPT, concept_code AS CONCEPT_CODE FROM ${parquet("concept")}`,
  concept_ancestor: `SELECT ancestor_concept_id AS ANCESTOR_CONCEPT_ID, descendant_concept_id AS DESCENDANT_CONCEPT_ID,
      min_levels_of_separation AS MIN_LEVELS_OF_SEPARATION, min_levels_of_separation AS MAX_LEVELS_OF_SEPARATION FROM ${parquet("concept_ancestor")}`,
};

const SYSTEMS = `CASE vocabulary WHEN 'ICD10' THEN 'http://hl7.org/fhir/sid/icd-10' WHEN 'ATC' THEN 'http://www.whocc.no/atc'
  ELSE 'http://loinc.org' END`;
/** FHIR R4 resources as Bulk Data NDJSON (one per line), with names and identifiers to drop. */
const FHIR_EXPORT: Record<string, string> = {
  Patient: `SELECT 'Patient' AS resourceType, 'p' || person_id AS id, [{'family': 'Family' || person_id}] AS name,
      [{'system': 'urn:bench', 'value': person_id::VARCHAR}] AS identifier,
      CASE sex WHEN 'M' THEN 'male' ELSE 'female' END AS gender, year_of_birth || '-06-15' AS birthDate,
      [{'state': region, 'city': 'Town'}] AS address FROM ${parquet("person")}`,
  Condition: `SELECT 'Condition' AS resourceType, 'c' || row_number() OVER () AS id,
      {'reference': 'Patient/p' || person_id} AS subject,
      {'coding': [{'system': ${SYSTEMS.replaceAll("vocabulary", "condition_vocabulary")}, 'code': condition_code}]} AS code,
      condition_start_date::VARCHAR AS onsetDateTime FROM ${parquet("condition_occurrence")}`,
  MedicationRequest: `SELECT 'MedicationRequest' AS resourceType, 'm' || row_number() OVER () AS id,
      {'reference': 'Patient/p' || person_id} AS subject,
      {'coding': [{'system': ${SYSTEMS.replaceAll("vocabulary", "drug_vocabulary")}, 'code': drug_code}]} AS medicationCodeableConcept,
      drug_exposure_start_date::VARCHAR AS authoredOn FROM ${parquet("drug_exposure")}`,
  Observation: `SELECT 'Observation' AS resourceType, 'o' || row_number() OVER () AS id,
      {'reference': 'Patient/p' || person_id} AS subject,
      {'coding': [{'system': 'http://loinc.org', 'code': measurement_code}]} AS code,
      measurement_date::VARCHAR AS effectiveDateTime, {'value': value_as_number, 'unit': unit} AS valueQuantity
      FROM ${parquet("measurement")}`,
  Encounter: `SELECT 'Encounter' AS resourceType, 'e' || row_number() OVER () AS id,
      {'reference': 'Patient/p' || person_id} AS subject,
      {'code': CASE visit_type WHEN 'inpatient' THEN 'IMP' WHEN 'emergency' THEN 'EMER' ELSE 'AMB' END} AS class,
      {'start': visit_start_date::VARCHAR, 'end': visit_end_date::VARCHAR} AS period FROM ${parquet("visit_occurrence")}`,
};

async function writeSources() {
  if (!existsSync(join(omopDir, "concept_ancestor.csv"))) {
    await rm(omopDir, { recursive: true, force: true });
    await mkdir(omopDir, { recursive: true });
    for (const [table, sql] of Object.entries(OMOP_EXPORT)) {
      await db.run(`COPY (${sql}) TO '${join(omopDir, `${table}.csv`)}' (HEADER, DELIMITER ',')`);
    }
  }
  if (!existsSync(join(fhirDir, "Encounter.000.ndjson"))) {
    await rm(fhirDir, { recursive: true, force: true });
    await mkdir(fhirDir, { recursive: true });
    for (const [type, sql] of Object.entries(FHIR_EXPORT)) {
      await db.run(`COPY (${sql}) TO '${join(fhirDir, `${type}.000.ndjson`)}' (FORMAT json)`);
    }
  }
}

log("writing the OMOP CSV and FHIR NDJSON sources (cached) ...");
await writeSources();
const omopRows = (
  await Promise.all(
    Object.keys(OMOP_EXPORT).map((t) =>
      count(`SELECT count(*) FROM read_csv('${join(omopDir, `${t}.csv`)}')`),
    ),
  )
).reduce((a, b) => a + b, 0);
const fhirRows = (
  await Promise.all(
    Object.keys(FHIR_EXPORT).map((t) =>
      count(`SELECT count(*) FROM read_ndjson_objects('${join(fhirDir, `${t}.000.ndjson`)}')`),
    ),
  )
).reduce((a, b) => a + b, 0);
db.closeSync();
instance.closeSync();

const secretFile = join(root, "secret");
await writeFile(secretFile, "bench-steward-secret-0123456789\n");
const cli = join(import.meta.dirname, "..", "bin", "opencohort-dataset.mjs");

function runImport(kind: "omop" | "fhir", source: string, rows: number) {
  const out = join(root, `imported-${kind}`);
  spawnSync("rm", ["-rf", out]);
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    [cli, "import", kind, source, "--out", out, "--secret-file", secretFile],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`${kind} import failed: ${result.stderr}`);
  const peak = /peak memory \(RSS\) (\d+) MiB/.exec(result.stdout)?.[1];
  return { kind, rows, seconds, rowsPerSecond: rows / seconds, peakMiB: Number(peak) };
}

const results = [runImport("omop", omopDir, omopRows), runImport("fhir", fhirDir, fhirRows)];
console.log(`Import throughput, ${persons.toLocaleString("en-US")} synthetic persons (2 threads):`);
for (const r of results) {
  console.log(
    `  ${r.kind.padEnd(5)} ${r.rows.toLocaleString("en-US").padStart(12)} source rows  ${r.seconds.toFixed(1).padStart(7)} s (incl. process start)  ${Math.round(r.rowsPerSecond).toLocaleString("en-US").padStart(10)} rows/s  peak RSS ${r.peakMiB} MiB`,
  );
}
