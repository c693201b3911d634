import { createReadStream } from "node:fs";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { DuckDBAppender } from "@duckdb/node-api";
import { type BuildOptions, buildDataset, type ImportReport, refuseExistingOutput } from "./build";
import { ImportError } from "./errors";
import { stageOmopSource } from "./omop-source";
import type { OmopSourceTable } from "./omop-tables";
import { openStaging, type Staging, tableExists } from "./staging";

/**
 * FHIR R4 coding systems and the OMOP vocabulary each one is. A coding in any other system
 * is refused ("unknown vocabulary"), so that no code enters a dataset under a guessed name.
 */
export const FHIR_SYSTEMS: Readonly<Record<string, string>> = {
  "http://snomed.info/sct": "SNOMED",
  "http://loinc.org": "LOINC",
  "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
  "http://hl7.org/fhir/sid/cvx": "CVX",
  "http://hl7.org/fhir/sid/icd-10": "ICD10",
  "http://hl7.org/fhir/sid/icd-10-cm": "ICD10CM",
  "http://www.whocc.no/atc": "ATC",
  "http://hl7.org/fhir/sid/ndc": "NDC",
  "http://www.ama-assn.org/go/cpt": "CPT4",
  "http://unitsofmeasure.org": "UCUM",
};

/** Where each resource type goes (OMOP domain tables) and where its code and date are. */
const EVENT_RESOURCES = {
  Condition: { kind: "condition", code: "code", subject: "subject" },
  MedicationRequest: { kind: "drug", code: "medicationCodeableConcept", subject: "subject" },
  MedicationStatement: { kind: "drug", code: "medicationCodeableConcept", subject: "subject" },
  Immunization: { kind: "drug", code: "vaccineCode", subject: "patient" },
  Procedure: { kind: "procedure", code: "code", subject: "subject" },
  Observation: { kind: "observation", code: "code", subject: "subject" },
} as const;
type EventResource = keyof typeof EVENT_RESOURCES;

/** Encounter.class (v3 ActCode) as OMOP's standard visit concepts. */
const VISIT_CLASSES: Readonly<Record<string, number>> = {
  IMP: 9201,
  ACUTE: 9201,
  NONAC: 9201,
  AMB: 9202,
  VR: 9202,
  HH: 9202,
  EMER: 9203,
};

/** What a FHIR export holds that a dataset never keeps (counted per resource in the report). */
const DROPPED_FHIR_FIELDS: Readonly<Record<string, string>> = {
  name: "name",
  telecom: "contact detail",
  address: "address (only the state is kept, as region)",
  identifier: "identifier",
  text: "free text (narrative)",
  note: "free text",
  extension: "extensions (race, ethnicity, birthplace, mother's name, ...)",
  contact: "contact person",
  photo: "photo",
  maritalStatus: "not in the dataset schema",
  communication: "not in the dataset schema",
  multipleBirthBoolean: "not in the dataset schema",
  multipleBirthInteger: "not in the dataset schema",
  birthDate: "exact birth date (only the year is kept)",
};

export interface FhirImportOptions extends BuildOptions {
  /**
   * An OMOP vocabulary (a folder with concept.csv and concept_ancestor.csv, e.g. an Athena
   * download or an OMOP CDM export): codings are matched to its concepts by vocabulary and
   * code, which gives standard concept ids and the hierarchy. Without it, each code gets a
   * local concept id (above 2,000,000,000) and no hierarchy.
   */
  vocabulary?: string;
  threads?: number;
}

type Json = Record<string, unknown>;
const asObject = (value: unknown): Json | undefined =>
  value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Json)
    : undefined;
const asString = (value: unknown): string | undefined =>
  typeof value === "string" ? value : undefined;

/** The calendar date a FHIR date/dateTime was recorded on (its first ten characters). */
function dateOf(value: unknown): string | undefined {
  const text = asString(value);
  return text && /^\d{4}-\d{2}-\d{2}/.test(text) ? text.slice(0, 10) : undefined;
}

/** The patient id a reference points to ("Patient/<id>" or "urn:uuid:<id>"). */
function referencedPatient(reference: unknown): string | undefined {
  const text = asString(asObject(reference)?.reference);
  if (!text) return undefined;
  const match = /^(?:Patient\/|urn:uuid:)([^/]+)$/.exec(text);
  return match?.[1];
}

interface Coding {
  vocabulary: string;
  code: string;
  display: string;
}

/** The first coding in a known system; a concept coded only in unknown systems is refused. */
function knownCoding(concept: unknown, where: { file: string; line: number }): Coding | undefined {
  const codings = asObject(concept)?.coding;
  if (!Array.isArray(codings) || codings.length === 0) return undefined;
  for (const coding of codings) {
    const system = asString(asObject(coding)?.system);
    const code = asString(asObject(coding)?.code);
    const vocabulary = system ? FHIR_SYSTEMS[system] : undefined;
    if (vocabulary && code) {
      return { vocabulary, code, display: asString(asObject(coding)?.display) ?? code };
    }
  }
  const systems = codings.map((c) => asString(asObject(c)?.system) ?? "(none)").join(", ");
  throw new ImportError(
    `unknown vocabulary ${systems} (known systems: ${Object.keys(FHIR_SYSTEMS).join(", ")})`,
    where,
  );
}

async function* lines(path: string, onBytes: (bytes: number) => void) {
  const stream = createReadStream(path);
  stream.on("data", (chunk) => onBytes(chunk.length));
  const reader = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  let number = 0;
  for await (const line of reader) {
    number++;
    if (line.trim() !== "") yield { line, number };
  }
}

function parseLine(text: string, where: { file: string; line: number }): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ImportError(
      "malformed line: not a JSON object (NDJSON needs one resource per line)",
      where,
    );
  }
  const resource = asObject(parsed);
  if (!resource || typeof resource.resourceType !== "string") {
    throw new ImportError("malformed line: not a FHIR resource (no resourceType)", where);
  }
  return resource;
}

const appendOptional = (
  appender: DuckDBAppender,
  value: string | number | undefined,
  kind: "varchar" | "integer" | "double",
) => {
  if (value === undefined) appender.appendNull();
  else if (kind === "varchar") appender.appendVarchar(String(value));
  else if (kind === "integer") appender.appendInteger(Number(value));
  else appender.appendDouble(Number(value));
};

/**
 * Imports a FHIR R4 Bulk Data export (NDJSON, one resource per line, files named
 * <ResourceType>[.<n>].ndjson) into an omop-lite/2 dataset folder. Patients are read first so
 * that every other resource's patient reference can be checked.
 */
export async function importFhir(
  source: string,
  options: FhirImportOptions,
): Promise<ImportReport> {
  await refuseExistingOutput(options.outDir);
  let files: string[];
  try {
    files = (await readdir(source)).filter((f) => /\.ndjson$/i.test(f)).sort();
  } catch {
    throw new ImportError("no such folder", { file: source });
  }
  const typeOf = (file: string) => file.split(".")[0] ?? "";
  const patientFiles = files.filter((f) => typeOf(f) === "Patient");
  if (patientFiles.length === 0) {
    throw new ImportError("required table Patient is missing (no Patient.ndjson)", {
      file: source,
    });
  }
  const totalBytes = (
    await Promise.all(files.map(async (f) => (await stat(join(source, f))).size))
  ).reduce((a, b) => a + b, 0);
  let readBytes = 0;
  let reportedPercent = -1;
  // In steps of 5 %, so a log gets at most twenty lines however large the export.
  const onBytes = (bytes: number) => {
    readBytes += bytes;
    const percent = Math.floor((20 * readBytes) / Math.max(totalBytes, 1)) * 5;
    if (percent === reportedPercent) return;
    reportedPercent = percent;
    options.onProgress?.({ stage: "reading NDJSON", done: percent, total: 100 });
  };

  const tempDir = await mkdtemp(join(tmpdir(), "opencohort-fhir-"));
  const staging = await openStaging(tempDir, options.threads);
  const droppedCounts = new Map<string, { what: string; reason: string; count: number }>();
  const drop = (what: string, reason: string) => {
    const entry = droppedCounts.get(what) ?? { what, reason, count: 0 };
    entry.count++;
    droppedCounts.set(what, entry);
  };
  try {
    const { connection } = staging;
    await connection.run(`CREATE TABLE fhir_person (person_id BIGINT, source_key VARCHAR,
      gender_concept_id INTEGER, year_of_birth INTEGER, state VARCHAR, death_date VARCHAR)`);
    await connection.run(`CREATE TABLE fhir_event (kind VARCHAR, person_id BIGINT, vocabulary VARCHAR,
      code VARCHAR, display VARCHAR, start_date VARCHAR, end_date VARCHAR, value DOUBLE, unit VARCHAR)`);
    await connection.run(`CREATE TABLE fhir_visit (person_id BIGINT, visit_concept_id INTEGER,
      start_date VARCHAR, end_date VARCHAR)`);

    const patients = new Map<string, number>();
    const persons = await connection.createAppender("fhir_person");
    for (const file of patientFiles) {
      for await (const { line, number } of lines(join(source, file), onBytes)) {
        const where = { file, line: number };
        const patient = parseLine(line, where);
        if (patient.resourceType !== "Patient") {
          throw new ImportError(
            `malformed line: a ${String(patient.resourceType)} in a Patient file`,
            where,
          );
        }
        const id = asString(patient.id);
        if (!id) throw new ImportError("malformed line: a Patient without id", where);
        if (patients.has(id)) throw new ImportError("this Patient id is listed twice", where);
        const birthYear = dateOf(patient.birthDate)?.slice(0, 4);
        for (const field of Object.keys(patient)) {
          const reason = DROPPED_FHIR_FIELDS[field];
          if (reason) drop(`Patient.${field}`, reason);
        }
        if (!birthYear) {
          drop("Patient without a birth date", "year of birth is required");
          continue;
        }
        const index = patients.size + 1;
        patients.set(id, index);
        const gender = asString(patient.gender);
        const address = Array.isArray(patient.address) ? asObject(patient.address[0]) : undefined;
        persons.appendBigInt(BigInt(index));
        persons.appendVarchar(id);
        persons.appendInteger(gender === "male" ? 8507 : gender === "female" ? 8532 : 0);
        persons.appendInteger(Number(birthYear));
        appendOptional(persons, asString(address?.state), "varchar");
        appendOptional(persons, dateOf(patient.deceasedDateTime), "varchar");
        persons.endRow();
      }
    }
    persons.flushSync();
    persons.closeSync();

    const events = await connection.createAppender("fhir_event");
    const visits = await connection.createAppender("fhir_visit");
    for (const file of files) {
      const type = typeOf(file);
      if (type === "Patient") continue;
      const isEvent = type in EVENT_RESOURCES;
      if (!isEvent && type !== "Encounter") {
        for await (const _ of lines(join(source, file), onBytes))
          drop(`${type} resources`, "not imported (no table in the dataset schema)");
        continue;
      }
      for await (const { line, number } of lines(join(source, file), onBytes)) {
        const where = { file, line: number };
        const resource = parseLine(line, where);
        if (resource.resourceType !== type) {
          throw new ImportError(
            `malformed line: a ${String(resource.resourceType)} in a ${type} file`,
            where,
          );
        }
        for (const field of ["text", "note", "identifier"]) {
          if (field in resource) drop(`${type}.${field}`, DROPPED_FHIR_FIELDS[field] ?? "dropped");
        }
        const spec = isEvent ? EVENT_RESOURCES[type as EventResource] : undefined;
        const patientId = referencedPatient(resource[spec?.subject ?? "subject"]);
        if (!patientId) throw new ImportError("malformed line: no patient reference", where);
        const person = patients.get(patientId);
        if (person === undefined) {
          throw new ImportError(
            `refers to Patient/${patientId}, which is not in the Patient file`,
            where,
          );
        }
        if (type === "Encounter") {
          const period = asObject(resource.period);
          const start = dateOf(period?.start);
          if (!start) {
            drop("Encounter without a start date", "no date to place it");
            continue;
          }
          const visitClass = asString(asObject(resource.class)?.code) ?? "";
          visits.appendBigInt(BigInt(person));
          visits.appendInteger(VISIT_CLASSES[visitClass] ?? 9202);
          visits.appendVarchar(start);
          appendOptional(visits, dateOf(period?.end) ?? start, "varchar");
          visits.endRow();
          continue;
        }
        if (!spec) continue;
        const coding = knownCoding(resource[spec.code], where);
        if (!coding) {
          drop(`${type} without a coded concept`, "free text only");
          continue;
        }
        const period = asObject(resource.performedPeriod) ?? asObject(resource.effectivePeriod);
        const start =
          dateOf(resource.onsetDateTime) ??
          dateOf(resource.recordedDate) ??
          dateOf(resource.authoredOn) ??
          dateOf(resource.effectiveDateTime) ??
          dateOf(resource.performedDateTime) ??
          dateOf(resource.occurrenceDateTime) ??
          dateOf(period?.start);
        if (!start) {
          drop(`${type} without a date`, "no date to place it");
          continue;
        }
        const quantity = asObject(resource.valueQuantity);
        const value = typeof quantity?.value === "number" ? quantity.value : undefined;
        const kind = spec.kind === "observation" && value !== undefined ? "measurement" : spec.kind;
        events.appendVarchar(kind);
        events.appendBigInt(BigInt(person));
        events.appendVarchar(coding.vocabulary);
        events.appendVarchar(coding.code);
        events.appendVarchar(coding.display);
        events.appendVarchar(start);
        appendOptional(
          events,
          dateOf(resource.abatementDateTime) ?? dateOf(period?.end),
          "varchar",
        );
        appendOptional(events, value, "double");
        appendOptional(events, asString(quantity?.unit), "varchar");
        events.endRow();
      }
    }
    events.flushSync();
    events.closeSync();
    visits.flushSync();
    visits.closeSync();

    options.onProgress?.({
      stage: "mapping codes to concepts",
      done: 100,
      total: 100,
    });
    const hasVocabulary = options.vocabulary !== undefined;
    if (options.vocabulary !== undefined) {
      const found = await stageOmopSource(staging, options.vocabulary, {
        tempDir,
        relationships: true,
      });
      if (!found.has("concept")) {
        throw new ImportError("the vocabulary has no concept table", { file: options.vocabulary });
      }
      // Only the vocabulary tables of that source are wanted; clinical tables found there are not.
      for (const table of found) {
        if (!VOCABULARY_SOURCE_TABLES.has(table)) await connection.run(`DROP TABLE src_${table}`);
      }
    }
    await stageFhirTables(staging, hasVocabulary);
    const staged: OmopSourceTable[] = [
      "person",
      "condition_occurrence",
      "drug_exposure",
      "measurement",
      "procedure_occurrence",
      "observation",
      "visit_occurrence",
      "death",
    ];
    for (const table of staged) staging.labels.set(table, table === "person" ? "Patient" : table);
    const present = new Set<OmopSourceTable>([...staged, "concept"]);
    if (hasVocabulary && (await tableExists(staging, "src_concept_ancestor"))) {
      present.add("concept_ancestor");
    }
    return await buildDataset(staging, present, options, [...droppedCounts.values()]);
  } finally {
    staging.close();
    await rm(tempDir, { recursive: true, force: true });
  }
}

/**
 * The standard concept of each coding, as OMOP ETLs map source codes: the matched concept
 * when it is standard ('S'), else the targets of its valid "Maps to" relationships in the
 * vocabulary's concept_relationship (one event row per target, as in OMOP); 0 when there is
 * none (kept, queryable by source code, counted in the report). A vocabulary whose concept
 * table has no standard_concept flags at all is taken as standard throughout.
 */
async function standardMapping(staging: Staging): Promise<string> {
  const flagged =
    Number(
      (
        await staging.connection.runAndReadAll(
          "SELECT count(standard_concept) FROM vocabulary_concept",
        )
      ).getRows()[0]?.[0],
    ) > 0;
  const hasRelationships = await tableExists(staging, "src_concept_relationship");
  const mapsTo = hasRelationships
    ? `SELECT DISTINCT concept_id_1, concept_id_2 FROM src_concept_relationship
       WHERE relationship_id = 'Maps to' AND coalesce(invalid_reason, '') = ''
         AND concept_id_2 IN (SELECT concept_id FROM vocabulary_concept${flagged ? " WHERE standard_concept = 'S'" : ""})`
    : "SELECT NULL::INTEGER AS concept_id_1, NULL::INTEGER AS concept_id_2 WHERE false";
  return `SELECT s.vocabulary, s.code, s.display, s.domain, s.source_concept_id, s.local,
      CASE WHEN s.local THEN 0
        WHEN ${flagged ? "v.standard_concept = 'S'" : "true"} THEN s.source_concept_id
        ELSE coalesce(r.concept_id_2, 0) END AS concept_id
    FROM source_map s
    LEFT JOIN vocabulary_concept v ON v.concept_id = s.source_concept_id AND NOT s.local
    LEFT JOIN (${mapsTo}) r ON r.concept_id_1 = s.source_concept_id
      AND NOT s.local AND ${flagged ? "coalesce(v.standard_concept, '') <> 'S'" : "false"}`;
}

/**
 * Turns the FHIR rows into the OMOP staging tables the builder reads. Each distinct coding is a
 * concept: the vocabulary's (matched by vocabulary and code) when one is given, else a local id
 * above 2,000,000,000 in (vocabulary, code) order, named by the coding's display.
 */
/** What a vocabulary folder given to a FHIR import is read for. */
const VOCABULARY_SOURCE_TABLES: ReadonlySet<OmopSourceTable> = new Set([
  "concept",
  "concept_ancestor",
  "concept_relationship",
]);

async function stageFhirTables(staging: Staging, hasVocabulary: boolean) {
  const { connection } = staging;
  const visitConcepts = `SELECT * FROM (VALUES (9201, 'Inpatient Visit', 'Visit', 'IP', 'Visit', 'S'),
    (9202, 'Outpatient Visit', 'Visit', 'OP', 'Visit', 'S'),
    (9203, 'Emergency Room Visit', 'Visit', 'ER', 'Visit', 'S'))
    AS v(concept_id, concept_name, vocabulary_id, concept_code, domain_id, standard_concept)`;
  await connection.run(`CREATE TABLE fhir_coding AS
    SELECT vocabulary, code, min(display) AS display,
      CASE min(kind) WHEN 'condition' THEN 'Condition' WHEN 'drug' THEN 'Drug'
        WHEN 'procedure' THEN 'Procedure' WHEN 'measurement' THEN 'Measurement' ELSE 'Observation' END AS domain
    FROM fhir_event GROUP BY vocabulary, code`);
  if (hasVocabulary) {
    await connection.run(`CREATE TABLE fhir_concept AS
      SELECT f.vocabulary, f.code, f.display, f.domain, v.concept_id AS matched
      FROM fhir_coding f LEFT JOIN src_concept v ON v.vocabulary_id = f.vocabulary AND v.concept_code = f.code`);
    await connection.run(`ALTER TABLE src_concept RENAME TO vocabulary_concept`);
  } else {
    await connection.run(`CREATE TABLE fhir_concept AS
      SELECT vocabulary, code, display, domain, NULL::INTEGER AS matched FROM fhir_coding`);
  }
  // The coding's own concept (the source concept): the vocabulary's, else a local one.
  await connection.run(`CREATE TABLE source_map AS
    SELECT vocabulary, code, display, domain, coalesce(matched,
      (2000000000 + row_number() OVER (ORDER BY matched IS NOT NULL, vocabulary, code))::INTEGER) AS source_concept_id,
      matched IS NULL AS local
    FROM fhir_concept`);
  await connection.run(
    `CREATE TABLE coding_map AS ${hasVocabulary ? await standardMapping(staging) : "SELECT *, CASE WHEN local THEN 0 ELSE source_concept_id END AS concept_id FROM source_map"}`,
  );
  // Local concepts exist because their codings occur in the data: the builder uses them to
  // spell the events' source codes but never ships them (a public concept search or a
  // descendant_of expansion over them would tell which codes occur).
  await connection.run(
    "CREATE TABLE src_data_derived_concept AS SELECT source_concept_id AS concept_id FROM source_map WHERE local",
  );
  await connection.run(`CREATE TABLE src_concept AS
    ${hasVocabulary ? "SELECT concept_id, concept_name, domain_id, vocabulary_id, concept_code, standard_concept FROM vocabulary_concept WHERE concept_id NOT IN (9201, 9202, 9203) UNION ALL" : ""}
    SELECT source_concept_id AS concept_id, display AS concept_name, domain AS domain_id, vocabulary AS vocabulary_id,
      code AS concept_code, NULL::VARCHAR AS standard_concept FROM source_map WHERE local
    UNION ALL SELECT concept_id, concept_name, domain_id, vocabulary_id, concept_code, standard_concept FROM (${visitConcepts})`);
  await connection.run(
    `CREATE TABLE src_person AS SELECT person_id, gender_concept_id, year_of_birth, NULL::BIGINT AS location_id FROM fhir_person`,
  );
  await connection.run(
    "CREATE TABLE src_person_key AS SELECT person_id, source_key FROM fhir_person",
  );
  await connection.run(
    `CREATE TABLE src_death AS SELECT person_id, death_date::DATE AS death_date FROM fhir_person WHERE death_date IS NOT NULL`,
  );
  await connection.run(`CREATE TABLE src_visit_occurrence AS SELECT person_id, visit_concept_id,
    start_date::DATE AS visit_start_date, end_date::DATE AS visit_end_date FROM fhir_visit`);
  const events = (kind: string, select: string, table: string) =>
    connection.run(`CREATE TABLE src_${table} AS SELECT ${select}
      FROM fhir_event e JOIN coding_map m ON m.vocabulary = e.vocabulary AND m.code = e.code WHERE e.kind = '${kind}'`);
  await events(
    "condition",
    "e.person_id, m.concept_id AS condition_concept_id, e.start_date::DATE AS condition_start_date, e.end_date::DATE AS condition_end_date, m.source_concept_id AS condition_source_concept_id",
    "condition_occurrence",
  );
  await events(
    "drug",
    "e.person_id, m.concept_id AS drug_concept_id, e.start_date::DATE AS drug_exposure_start_date, e.end_date::DATE AS drug_exposure_end_date, NULL::INTEGER AS days_supply, m.source_concept_id AS drug_source_concept_id",
    "drug_exposure",
  );
  await events(
    "measurement",
    "e.person_id, m.concept_id AS measurement_concept_id, e.start_date::DATE AS measurement_date, e.value AS value_as_number, e.unit AS unit_source_value, m.source_concept_id AS measurement_source_concept_id",
    "measurement",
  );
  await events(
    "procedure",
    "e.person_id, m.concept_id AS procedure_concept_id, e.start_date::DATE AS procedure_date, m.source_concept_id AS procedure_source_concept_id",
    "procedure_occurrence",
  );
  await events(
    "observation",
    "e.person_id, m.concept_id AS observation_concept_id, e.start_date::DATE AS observation_date, m.source_concept_id AS observation_source_concept_id",
    "observation",
  );
}
