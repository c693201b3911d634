import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { writeManifest } from "@opencohort/synth";
import {
  CODED_TABLES,
  type ColumnSpec,
  type DatasetManifest,
  hashedFiles,
  KNOWN_VOCABULARIES,
  OMOP_LITE_V2,
  OMOP_LITE_V2_TABLES,
  OMOP_LITE_V2_VOCABULARY,
  type OmopTableName,
  type VocabularyTableName,
} from "@opencohort/validators";
import { computeContentHash } from "@opencohort/validators/content-hash";
import { type CodeBounds, declaredCodeBounds } from "./code-bounds";
import { ImportError } from "./errors";
import type { OmopSourceTable } from "./omop-tables";
import { pseudonymizer } from "./pseudonym";
import { quoteLiteral, type Staging, tableExists } from "./staging";

export interface Bounds {
  min: number;
  max: number;
}

/**
 * Declared bounds of the numeric columns. They are published with the dataset and clamp every
 * aggregate, so they come from the steward (config) or from these documented defaults, never
 * from the data's own min and max (which would publish the most extreme person).
 */
export const DEFAULT_BOUNDS = {
  /** Birth years of living or recently deceased persons. */
  year_of_birth: { min: 1900, max: new Date().getUTCFullYear() },
  /**
   * Laboratory and vital-sign values: covers the common LOINC codes in their usual units
   * (HbA1c %, mmol/L, mg/dL, mmHg, kg, cm, mL/min); a steward with other units declares their own.
   */
  value_as_number: { min: 0, max: 1000 },
  /** A prescription covers at most a year. */
  days_supply: { min: 1, max: 365 },
  /** Depth of a vocabulary hierarchy (SNOMED is about 20 deep). */
  min_levels_of_separation: { min: 0, max: 50 },
} as const satisfies Record<string, Bounds>;

export type BoundsConfig = Partial<Record<keyof typeof DEFAULT_BOUNDS, Bounds>>;

export interface ImportProgress {
  stage: string;
  done: number;
  total: number;
}

export interface BuildOptions {
  outDir: string;
  /** Keys the person pseudonyms; keep it secret and the same for every version. */
  secret: string | Uint8Array;
  title: string;
  description?: string;
  bounds?: BoundsConfig;
  /**
   * Bounds of measurement values per code (VOCABULARY:CODE, e.g. LOINC:4548-4), over
   * DEFAULT_CODE_BOUNDS. A code with neither clamps to value_as_number's bounds (reported).
   */
  codeBounds?: Record<string, CodeBounds>;
  onProgress?: (progress: ImportProgress) => void;
  /**
   * Rows about persons missing from the person table: an error by default (the export is
   * probably incomplete); true drops them and counts them in the report.
   */
  skipOrphans?: boolean;
  /** Fixes manifest.createdAt (reproducible folders in tests). */
  createdAt?: Date;
}

/** What the steward is told: counts per table and what was left out, with why. */
export interface ImportReport {
  outDir: string;
  manifest: DatasetManifest;
  tables: { name: string; rows: number }[];
  dropped: { what: string; reason: string; count?: number }[];
  /**
   * Events kept with standard concept 0 (no standard concept: a FHIR coding the vocabulary
   * does not map, an OMOP row with only a source concept), per table: rows and distinct
   * source codes. They stay queryable by their source vocabulary and code.
   */
  unmapped: { table: string; rows: number; codes: number }[];
  /**
   * Measurement codes with values but no declared bounds (neither config nor default): their
   * values clamp to `fallback`, value_as_number's bounds. Declare them and import again.
   */
  undeclaredBounds: { codes: { code: string; rows: number }[]; fallback: Bounds };
}

const EVENT_SOURCES: Record<
  keyof typeof CODED_TABLES,
  readonly {
    table: OmopSourceTable;
    concept: string;
    sourceConcept?: string;
    start: string;
    end?: string;
    extra?: string;
  }[]
> = {
  condition_occurrence: [
    {
      table: "condition_occurrence",
      concept: "condition_concept_id",
      sourceConcept: "condition_source_concept_id",
      start: "condition_start_date",
      end: "condition_end_date",
    },
    {
      table: "condition_era",
      concept: "condition_concept_id",
      start: "condition_era_start_date",
      end: "condition_era_end_date",
    },
  ],
  drug_exposure: [
    {
      table: "drug_exposure",
      concept: "drug_concept_id",
      sourceConcept: "drug_source_concept_id",
      start: "drug_exposure_start_date",
      end: "drug_exposure_end_date",
      extra: "days_supply",
    },
    {
      table: "drug_era",
      concept: "drug_concept_id",
      start: "drug_era_start_date",
      end: "drug_era_end_date",
      extra: "NULL::INTEGER",
    },
  ],
  measurement: [
    {
      table: "measurement",
      concept: "measurement_concept_id",
      sourceConcept: "measurement_source_concept_id",
      start: "measurement_date",
      extra: "value_as_number, unit_source_value",
    },
  ],
  procedure_occurrence: [
    {
      table: "procedure_occurrence",
      concept: "procedure_concept_id",
      sourceConcept: "procedure_source_concept_id",
      start: "procedure_date",
    },
  ],
  observation: [
    {
      table: "observation",
      concept: "observation_concept_id",
      sourceConcept: "observation_source_concept_id",
      start: "observation_date",
    },
  ],
};

/** The output column each event table is ordered by after person_id. */
const START_COLUMN: Record<keyof typeof CODED_TABLES, string> = {
  condition_occurrence: "condition_start_date",
  drug_exposure: "drug_exposure_start_date",
  measurement: "measurement_date",
  procedure_occurrence: "procedure_date",
  observation: "observation_date",
};

const PERSON_TABLES: readonly OmopSourceTable[] = [
  "observation_period",
  "condition_occurrence",
  "condition_era",
  "drug_exposure",
  "drug_era",
  "measurement",
  "procedure_occurrence",
  "observation",
  "visit_occurrence",
  "death",
];

/** OMOP's standard visit concepts, as the visit_type words the synthetic data uses. */
const VISIT_TYPES =
  "CASE v.visit_concept_id WHEN 9201 THEN 'inpatient' WHEN 9202 THEN 'outpatient' WHEN 9203 THEN 'emergency' WHEN 262 THEN 'emergency' ELSE coalesce(lower(c.concept_name), 'other') END";

async function scalar(staging: Staging, sql: string): Promise<number> {
  const reader = await staging.connection.runAndReadAll(sql);
  return Number(reader.getRows()[0]?.[0] ?? 0);
}

/** The source line of the first row of `table` matching `where` (a staging table's row order). */
async function firstLineWhere(staging: Staging, table: OmopSourceTable, where: string) {
  const row = await scalar(
    staging,
    `SELECT coalesce(min(rn), 0) FROM (SELECT row_number() OVER () AS rn, * FROM src_${table}) WHERE ${where}`,
  );
  const first = staging.firstLine.get(table);
  return first === undefined ? undefined : row - 1 + first;
}

const at = (staging: Staging, table: OmopSourceTable, line?: number) => ({
  file: staging.labels.get(table) ?? table,
  ...(line !== undefined
    ? { line, unit: staging.firstLine.get(table) === 1 ? ("row" as const) : ("line" as const) }
    : {}),
});

/**
 * Checks what a broken export gets wrong: a missing required table, a person listed twice, a
 * row about a person who is not in the person table, a concept that is not in the vocabulary,
 * a vocabulary this system does not know. Each error names the file and line.
 */
async function checkSource(
  staging: Staging,
  present: ReadonlySet<OmopSourceTable>,
  skipOrphans: boolean,
  dropped: ImportReport["dropped"],
) {
  for (const required of ["person", "concept"] as const) {
    if (!present.has(required)) {
      throw new ImportError(`required table ${required} is missing (no ${required}.csv or table)`);
    }
  }
  if (
    (await scalar(
      staging,
      "SELECT count(*) FROM src_person WHERE person_id IS NULL OR year_of_birth IS NULL",
    )) > 0
  ) {
    const line = await firstLineWhere(
      staging,
      "person",
      "person_id IS NULL OR year_of_birth IS NULL",
    );
    throw new ImportError("person_id and year_of_birth are required", at(staging, "person", line));
  }
  if ((await scalar(staging, "SELECT count(*) - count(DISTINCT person_id) FROM src_person")) > 0) {
    const line = await firstLineWhere(
      staging,
      "person",
      "rn > (SELECT min(rn2) FROM (SELECT row_number() OVER () AS rn2, person_id AS p2 FROM src_person) WHERE p2 = person_id)",
    );
    throw new ImportError("this person_id is listed twice", at(staging, "person", line));
  }
  for (const table of PERSON_TABLES) {
    if (!present.has(table)) continue;
    const orphan = "person_id IS NULL OR person_id NOT IN (SELECT person_id FROM src_person)";
    const orphans = await scalar(staging, `SELECT count(*) FROM src_${table} WHERE ${orphan}`);
    if (orphans === 0) continue;
    if (skipOrphans) {
      await staging.connection.run(`DELETE FROM src_${table} WHERE ${orphan}`);
      dropped.push({
        what: `${table} rows about persons not in person`,
        reason: "skipOrphans",
        count: orphans,
      });
      continue;
    }
    const line = await firstLineWhere(staging, table, orphan);
    throw new ImportError(
      `refers to a patient who is not in the person table (${orphans.toLocaleString("en-US")} such rows; --skip-orphans drops them and reports it)`,
      at(staging, table, line),
    );
  }
  // Every concept an event uses must be in the vocabulary, in a vocabulary we know.
  for (const [table, concept] of usedConceptColumns(present)) {
    const unknown = `${concept} IS NOT NULL AND ${concept} <> 0 AND ${concept} NOT IN (SELECT concept_id FROM src_concept)`;
    if ((await scalar(staging, `SELECT count(*) FROM src_${table} WHERE ${unknown}`)) > 0) {
      const line = await firstLineWhere(staging, table, unknown);
      throw new ImportError(
        `${concept} is not in the vocabulary (concept table)`,
        at(staging, table, line),
      );
    }
  }
  const known = `(${KNOWN_VOCABULARIES.map(quoteLiteral).join(", ")})`;
  const usedIds = usedConceptColumns(present)
    .map(([table, concept]) => `SELECT ${concept} FROM src_${table} WHERE ${concept} <> 0`)
    .join(" UNION ");
  if (usedIds !== "") {
    const unknownVocabulary = `vocabulary_id NOT IN ${known} AND concept_id IN (${usedIds})`;
    if (
      (await scalar(staging, `SELECT count(*) FROM src_concept WHERE ${unknownVocabulary}`)) > 0
    ) {
      const line = await firstLineWhere(staging, "concept", unknownVocabulary);
      const reader = await staging.connection.runAndReadAll(
        `SELECT vocabulary_id FROM src_concept WHERE ${unknownVocabulary} LIMIT 1`,
      );
      const name = String(reader.getRows()[0]?.[0]);
      throw new ImportError(
        `unknown vocabulary "${name}" (known: ${KNOWN_VOCABULARIES.join(", ")})`,
        at(staging, "concept", line),
      );
    }
  }
}

function usedConceptColumns(present: ReadonlySet<OmopSourceTable>): [OmopSourceTable, string][] {
  const used: [OmopSourceTable, string][] = [];
  for (const sources of Object.values(EVENT_SOURCES)) {
    const source = sources.find((s) => present.has(s.table));
    if (!source) continue;
    used.push([source.table, source.concept]);
    if (source.sourceConcept) used.push([source.table, source.sourceConcept]);
  }
  if (present.has("visit_occurrence")) used.push(["visit_occurrence", "visit_concept_id"]);
  return used;
}

/** Person pseudonyms: HMAC of the source key (src_person_key when the source has one). */
async function createPseudonyms(staging: Staging, secret: string | Uint8Array) {
  const pseudonym = pseudonymizer(secret);
  const hasKeys =
    (await scalar(
      staging,
      "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'src_person_key'",
    )) > 0;
  const reader = await staging.connection.runAndReadAll(
    hasKeys
      ? "SELECT person_id, source_key FROM src_person_key"
      : "SELECT person_id, person_id::VARCHAR FROM src_person",
  );
  await staging.connection.run(
    "CREATE OR REPLACE TABLE pseudonym (source_id BIGINT, person_id BIGINT)",
  );
  const appender = await staging.connection.createAppender("pseudonym");
  for (const [sourceId, key] of reader.getRows()) {
    appender.appendBigInt(BigInt(sourceId as bigint));
    appender.appendBigInt(pseudonym(String(key)));
    appender.endRow();
  }
  appender.flushSync();
  appender.closeSync();
  if ((await scalar(staging, "SELECT count(*) - count(DISTINCT person_id) FROM pseudonym")) > 0) {
    throw new ImportError("two persons got the same pseudonym; import again with another secret");
  }
}

/** The SQL of each output table, from the staging tables that are present. */
function outputSql(present: ReadonlySet<OmopSourceTable>): Partial<Record<OmopTableName, string>> {
  const sql: Partial<Record<OmopTableName, string>> = {
    person: `SELECT ps.person_id, p.year_of_birth,
        CASE p.gender_concept_id WHEN 8507 THEN 'M' WHEN 8532 THEN 'F' END AS sex,
        ${present.has("location") ? "l.state" : "NULL::VARCHAR"} AS region
      FROM src_person p JOIN pseudonym ps ON ps.source_id = p.person_id
      ${present.has("location") ? "LEFT JOIN src_location l ON l.location_id = p.location_id" : ""}
      ORDER BY ps.person_id`,
  };
  for (const [output, prefix] of Object.entries(CODED_TABLES) as [
    keyof typeof CODED_TABLES,
    string,
  ][]) {
    const source = EVENT_SOURCES[output].find((s) => present.has(s.table));
    if (!source) continue;
    const layout = OMOP_LITE_V2_TABLES[output].map((c) => c.name);
    const sourceConcept = source.sourceConcept
      ? `LEFT JOIN src_concept sc ON sc.concept_id = e.${source.sourceConcept} AND e.${source.sourceConcept} <> 0`
      : "LEFT JOIN (SELECT NULL::VARCHAR AS vocabulary_id, NULL::VARCHAR AS concept_code) sc ON false";
    const dates =
      output === "condition_occurrence" || output === "drug_exposure"
        ? [`e.${source.start}`, source.end ? `e.${source.end}` : "NULL::DATE"]
        : [`e.${source.start}`];
    const extra =
      output === "drug_exposure"
        ? [source.extra === "days_supply" ? "e.days_supply" : "NULL::INTEGER"]
        : output === "measurement"
          ? ["e.value_as_number", "e.unit_source_value"]
          : [];
    // measurement's layout puts value and unit before the date.
    const tail = output === "measurement" ? [...extra, ...dates] : [...dates, ...extra];
    const select = [
      "ps.person_id",
      `coalesce(e.${source.concept}, 0)`,
      "coalesce(sc.vocabulary_id, c.vocabulary_id)",
      "coalesce(sc.concept_code, c.concept_code)",
      ...tail,
    ].map((expression, index) => `${expression} AS ${layout[index]}`);
    sql[output] = `SELECT ${select.join(", ")}
      FROM src_${source.table} e
      JOIN pseudonym ps ON ps.source_id = e.person_id
      LEFT JOIN src_concept c ON c.concept_id = e.${source.concept} AND e.${source.concept} <> 0
      ${sourceConcept}
      WHERE coalesce(sc.vocabulary_id, c.vocabulary_id) IS NOT NULL AND e.${source.start} IS NOT NULL
      ORDER BY person_id, ${START_COLUMN[output]}, ${prefix}_concept_id`;
  }
  if (present.has("visit_occurrence")) {
    sql.visit_occurrence = `SELECT ps.person_id, v.visit_concept_id, ${VISIT_TYPES} AS visit_type,
        v.visit_start_date, coalesce(v.visit_end_date, v.visit_start_date) AS visit_end_date
      FROM src_visit_occurrence v JOIN pseudonym ps ON ps.source_id = v.person_id
      LEFT JOIN src_concept c ON c.concept_id = v.visit_concept_id
      WHERE v.visit_start_date IS NOT NULL
      ORDER BY 1, 4, 3`;
  }
  if (present.has("observation_period")) {
    sql.observation_period = `SELECT ps.person_id, o.observation_period_start_date, o.observation_period_end_date
      FROM src_observation_period o JOIN pseudonym ps ON ps.source_id = o.person_id
      WHERE o.observation_period_start_date IS NOT NULL AND o.observation_period_end_date IS NOT NULL
      ORDER BY 1, 2`;
  }
  if (present.has("death")) {
    sql.death = `SELECT ps.person_id, min(d.death_date) AS death_date
      FROM src_death d JOIN pseudonym ps ON ps.source_id = d.person_id
      WHERE d.death_date IS NOT NULL GROUP BY ps.person_id ORDER BY 1`;
  }
  return sql;
}

/**
 * The shipped vocabulary: the source's vocabulary whole (every concept and ancestry row it
 * has), plus the concepts the events use that it lacks (each its own ancestor, as in OMOP).
 * Not only the used concepts: `descendant_of` expands over this hierarchy when a query is
 * planned, and an expansion over the used concepts alone would tell a researcher whether a
 * rare concept occurs in the data (through the query's canonical form: its hash, its sticky
 * noise, a free repeat). Over the source vocabulary, an expansion depends on reference data
 * only. (A full Athena vocabulary makes this large; scoping it by vocabulary or domain, never
 * by use, is the way to make it smaller.)
 */
async function createVocabulary(
  staging: Staging,
  present: ReadonlySet<OmopSourceTable>,
  tables: OmopTableName[],
) {
  const used = tables
    .filter((t): t is keyof typeof CODED_TABLES => t in CODED_TABLES)
    .map((t) => `SELECT DISTINCT ${CODED_TABLES[t]}_concept_id AS id FROM out_${t}`);
  if (tables.includes("visit_occurrence"))
    used.push("SELECT DISTINCT visit_concept_id FROM out_visit_occurrence");
  // Source concepts (e.g. the ICD10CM code of an event) are named by vocabulary and code.
  for (const t of tables.filter((t): t is keyof typeof CODED_TABLES => t in CODED_TABLES)) {
    const prefix = CODED_TABLES[t];
    used.push(
      `SELECT DISTINCT c.concept_id FROM out_${t} e JOIN src_concept c ON c.vocabulary_id = e.${prefix}_vocabulary AND c.concept_code = e.${prefix}_code`,
    );
  }
  const usedSql = used.length > 0 ? used.join(" UNION ") : "SELECT NULL::INTEGER AS id WHERE false";
  // Concepts an importer made up from the codings present (FHIR without a vocabulary entry)
  // stay out of the shipped vocabulary: it must be the same whatever the patients have.
  const derived = await tableExists(staging, "src_data_derived_concept");
  const shipped = (column: string) =>
    derived ? `${column} NOT IN (SELECT concept_id FROM src_data_derived_concept)` : "true";
  // Concept 0 is OMOP's "no matching concept", not a concept.
  await staging.connection.run(
    `CREATE OR REPLACE TABLE used_concept AS SELECT DISTINCT id FROM (${usedSql}) WHERE id IS NOT NULL AND id <> 0 AND ${shipped("id")}`,
  );
  await staging.connection.run(`CREATE OR REPLACE TABLE out_concept_ancestor AS
    SELECT ancestor_concept_id, descendant_concept_id, min(min_levels_of_separation)::INTEGER AS min_levels_of_separation
    FROM (
      ${present.has("concept_ancestor") ? "SELECT ancestor_concept_id, descendant_concept_id, min_levels_of_separation FROM src_concept_ancestor UNION ALL" : ""}
      SELECT concept_id AS ancestor_concept_id, concept_id AS descendant_concept_id, 0 AS min_levels_of_separation
      FROM src_concept WHERE ${shipped("concept_id")}
      UNION ALL
      SELECT id, id, 0 FROM used_concept
    )
    GROUP BY ALL ORDER BY 1, 2`);
  await staging.connection.run(`CREATE OR REPLACE TABLE out_concept AS
    SELECT concept_id, concept_name, vocabulary_id, concept_code, domain_id FROM src_concept
    WHERE ${shipped("concept_id")} ORDER BY concept_id`);
}

function declaredColumns(
  table: OmopTableName | VocabularyTableName,
  bounds: BoundsConfig,
  values: ReturnType<typeof declaredCodeBounds>,
): ColumnSpec[] {
  const layout =
    table in OMOP_LITE_V2_TABLES
      ? OMOP_LITE_V2_TABLES[table as OmopTableName]
      : OMOP_LITE_V2_VOCABULARY[table as VocabularyTableName];
  const vocabularyValues = [...KNOWN_VOCABULARIES].sort();
  return layout.map((column): ColumnSpec => {
    const spec: ColumnSpec = { ...column };
    const bound =
      bounds[column.name as keyof BoundsConfig] ??
      DEFAULT_BOUNDS[column.name as keyof typeof DEFAULT_BOUNDS];
    if (bound) spec.bounds = { min: bound.min, max: bound.max };
    if (table === "measurement" && column.name === "value_as_number") {
      // The column's bounds cover every declared code's range (what sums are clamped to).
      spec.codeBounds = values.codeBounds;
      spec.bounds = values.columnBounds;
    }
    if (column.name.endsWith("_vocabulary")) spec.values = vocabularyValues;
    if (column.name === "sex") {
      spec.values = ["F", "M"];
      spec.description = "From the gender concept: F (8532), M (8507), NULL otherwise.";
    }
    if (column.name === "person_id") spec.description = "Keyed pseudonym (HMAC of the source id).";
    return spec;
  });
}

/** A dataset folder is written whole or not at all: built beside outDir, renamed at the end. */
export async function buildDataset(
  staging: Staging,
  present: ReadonlySet<OmopSourceTable>,
  options: BuildOptions,
  dropped: ImportReport["dropped"],
): Promise<ImportReport> {
  const outDir = resolve(options.outDir);
  await refuseExistingOutput(outDir);
  const stages = [
    "checking the source",
    "pseudonyms",
    "writing tables",
    "vocabulary",
    "content hash",
  ];
  const progress = (stage: string) =>
    options.onProgress?.({ stage, done: stages.indexOf(stage), total: stages.length });
  progress("checking the source");
  await checkSource(staging, present, options.skipOrphans === true, dropped);
  progress("pseudonyms");
  await createPseudonyms(staging, options.secret);

  await mkdir(dirname(outDir), { recursive: true });
  const workDir = join(
    dirname(outDir),
    `.${basename(outDir)}.importing-${process.pid}-${Date.now()}`,
  );
  await mkdir(workDir);
  try {
    progress("writing tables");
    const bounds = options.bounds ?? {};
    const values = declaredCodeBounds(
      options.codeBounds,
      bounds.value_as_number ?? DEFAULT_BOUNDS.value_as_number,
    );
    const sql = outputSql(present);
    const tables: DatasetManifest["tables"] = [];
    const written: OmopTableName[] = [];
    for (const name of Object.keys(OMOP_LITE_V2_TABLES) as OmopTableName[]) {
      const select = sql[name];
      if (!select) continue;
      await staging.connection.run(`CREATE OR REPLACE TABLE out_${name} AS ${select}`);
      written.push(name);
    }
    for (const [output, sources] of Object.entries(EVENT_SOURCES)) {
      const source = sources.find((s) => present.has(s.table));
      if (!source) continue;
      const uncoded = await scalar(
        staging,
        `SELECT count(*) FROM src_${source.table} e
         ${source.sourceConcept ? `LEFT JOIN src_concept sc ON sc.concept_id = e.${source.sourceConcept} AND e.${source.sourceConcept} <> 0` : "LEFT JOIN (SELECT NULL::INTEGER AS concept_id) sc ON false"}
         WHERE coalesce(e.${source.concept}, 0) = 0 AND sc.concept_id IS NULL`,
      );
      if (uncoded > 0) {
        dropped.push({
          what: `${source.table} rows without a standard concept (concept 0) or a source code`,
          reason: "nothing to query them by",
          count: uncoded,
        });
      }
      if (source.table.endsWith("_era")) {
        dropped.push({
          what: `${output} built from ${source.table}`,
          reason: `no ${output} in the source; eras are OMOP's derived "had / was exposed to X during [start, end]"`,
        });
      }
    }
    progress("vocabulary");
    await createVocabulary(staging, present, written);
    const write = async (name: OmopTableName | VocabularyTableName) => {
      const file = `${name}.parquet`;
      const path = join(workDir, file);
      await staging.connection.run(
        `COPY out_${name} TO ${quoteLiteral(path)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
      );
      const rowCount = await scalar(staging, `SELECT count(*) FROM out_${name}`);
      return { name, file, rowCount, columns: declaredColumns(name, bounds, values) };
    };
    for (const name of written)
      tables.push((await write(name)) as DatasetManifest["tables"][number]);
    const undeclaredBounds: ImportReport["undeclaredBounds"] = {
      codes: [],
      fallback: values.columnBounds,
    };
    if (written.includes("measurement")) {
      const reader = await staging.connection.runAndReadAll(
        `SELECT measurement_vocabulary || ':' || measurement_code AS code, count(*)::INTEGER
         FROM out_measurement WHERE value_as_number IS NOT NULL
           AND code NOT IN (SELECT unnest(string_split(${quoteLiteral(values.codeBounds.map((r) => r.code).join("\t"))}, chr(9))))
         GROUP BY 1 ORDER BY 1`,
      );
      undeclaredBounds.codes = reader
        .getRows()
        .map(([code, rows]) => ({ code: String(code), rows: Number(rows) }));
    }
    const unmapped: ImportReport["unmapped"] = [];
    for (const name of written.filter((t): t is keyof typeof CODED_TABLES => t in CODED_TABLES)) {
      const prefix = CODED_TABLES[name];
      const reader = await staging.connection.runAndReadAll(
        `SELECT count(*), count(DISTINCT (${prefix}_vocabulary, ${prefix}_code)) FROM out_${name} WHERE ${prefix}_concept_id = 0`,
      );
      const [rows, codes] = (reader.getRows()[0] ?? [0, 0]).map(Number) as [number, number];
      if (rows > 0) unmapped.push({ table: name, rows, codes });
    }
    const vocabulary = [await write("concept"), await write("concept_ancestor")] as NonNullable<
      DatasetManifest["vocabulary"]
    >;

    progress("content hash");
    const personCount = tables.find((t) => t.name === "person")?.rowCount ?? 0;
    const manifest: DatasetManifest = {
      format: "opencohort-dataset/1",
      schemaVersion: OMOP_LITE_V2,
      title: options.title,
      description: options.description ?? "",
      personCount,
      tables,
      vocabulary,
      contentHash: await computeContentHash(workDir, hashedFiles({ tables, vocabulary })),
      createdAt: (options.createdAt ?? new Date()).toISOString(),
    };
    await writeManifest(workDir, manifest);
    await rename(workDir, outDir);
    options.onProgress?.({ stage: "done", done: stages.length, total: stages.length });
    return {
      outDir,
      manifest,
      tables: [...tables, ...vocabulary].map((t) => ({ name: t.name, rows: t.rowCount })),
      dropped,
      unmapped,
      undeclaredBounds,
    };
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}

/** An import never writes into an existing dataset: a folder that exists must be empty. */
export async function refuseExistingOutput(outDir: string) {
  try {
    const info = await stat(outDir);
    if (!info.isDirectory() || (await readdir(outDir)).length > 0) {
      throw new ImportError("the output folder exists and is not empty", { file: outDir });
    }
    await rm(outDir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
