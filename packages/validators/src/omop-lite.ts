import type { ColumnSpec, DatasetManifest, OmopTableName, VocabularyTableName } from "./dataset";

/**
 * The dataset schema versions. omop-lite/1 carries source codes only; omop-lite/2 keeps the
 * standards: every event has its OMOP standard concept id and its source vocabulary and code,
 * and the version ships the vocabulary subset it uses (concept, concept_ancestor). Both are
 * read by the engine; governance decides which may be listed.
 */
export const OMOP_LITE_V1 = "omop-lite/1";
export const OMOP_LITE_V2 = "omop-lite/2";

/**
 * Vocabulary ids as OMOP spells them (vocabulary.vocabulary_id): the value set of every
 * `*_vocabulary` column. A code of any other vocabulary is refused at import.
 */
export const KNOWN_VOCABULARIES = [
  "ATC",
  "CPT4",
  "CVX",
  "Gender",
  "HCPCS",
  "ICD10",
  "ICD10CM",
  "ICD10PCS",
  "ICD9CM",
  "ICD9Proc",
  "LOINC",
  "NDC",
  "OMOP Extension",
  "RxNorm",
  "RxNorm Extension",
  "SNOMED",
  "UCUM",
  "Visit",
] as const;

type ColumnLayout = Pick<ColumnSpec, "name" | "type"> & { nullable: boolean };

const column = (name: string, type: ColumnSpec["type"], nullable = false): ColumnLayout => ({
  name,
  type,
  nullable,
});
const personId = column("person_id", "BIGINT");
/** An event's standard concept, its source vocabulary and source code (e.g. ICD10, E11.9). */
const coded = (prefix: string) => [
  column(`${prefix}_concept_id`, "INTEGER"),
  column(`${prefix}_vocabulary`, "VARCHAR"),
  column(`${prefix}_code`, "VARCHAR"),
];

/** The columns of each omop-lite/2 table, in file order. */
export const OMOP_LITE_V2_TABLES: Record<OmopTableName, readonly ColumnLayout[]> = {
  person: [
    personId,
    column("year_of_birth", "INTEGER"),
    column("sex", "VARCHAR", true),
    column("region", "VARCHAR", true),
  ],
  condition_occurrence: [
    personId,
    ...coded("condition"),
    column("condition_start_date", "DATE"),
    column("condition_end_date", "DATE", true),
  ],
  drug_exposure: [
    personId,
    ...coded("drug"),
    column("drug_exposure_start_date", "DATE"),
    column("drug_exposure_end_date", "DATE", true),
    column("days_supply", "INTEGER", true),
  ],
  measurement: [
    personId,
    ...coded("measurement"),
    column("value_as_number", "DOUBLE", true),
    column("unit", "VARCHAR", true),
    column("measurement_date", "DATE"),
  ],
  procedure_occurrence: [personId, ...coded("procedure"), column("procedure_date", "DATE")],
  observation: [personId, ...coded("observation"), column("observation_date", "DATE")],
  visit_occurrence: [
    personId,
    column("visit_concept_id", "INTEGER"),
    column("visit_type", "VARCHAR"),
    column("visit_start_date", "DATE"),
    column("visit_end_date", "DATE"),
  ],
  observation_period: [
    personId,
    column("observation_period_start_date", "DATE"),
    column("observation_period_end_date", "DATE"),
  ],
  death: [personId, column("death_date", "DATE")],
};

export const OMOP_LITE_V2_VOCABULARY: Record<VocabularyTableName, readonly ColumnLayout[]> = {
  concept: [
    column("concept_id", "INTEGER"),
    column("concept_name", "VARCHAR"),
    column("vocabulary_id", "VARCHAR"),
    column("concept_code", "VARCHAR"),
    column("domain_id", "VARCHAR"),
  ],
  concept_ancestor: [
    column("ancestor_concept_id", "INTEGER"),
    column("descendant_concept_id", "INTEGER"),
    column("min_levels_of_separation", "INTEGER"),
  ],
};

/** The concept-coded tables and the prefix of their coded columns. */
export const CODED_TABLES = {
  condition_occurrence: "condition",
  drug_exposure: "drug",
  measurement: "measurement",
  procedure_occurrence: "procedure",
  observation: "observation",
} as const satisfies Partial<Record<OmopTableName, string>>;

/**
 * What is wrong with a manifest for its schema version (empty: nothing). omop-lite/1 is checked
 * by the manifest schema alone; omop-lite/2 must have a person table, ship both vocabulary
 * tables, and lay out every table as OMOP_LITE_V2_TABLES says (same names, types, order).
 */
export function schemaProblems(manifest: DatasetManifest): string[] {
  if (manifest.schemaVersion !== OMOP_LITE_V2) return [];
  const problems: string[] = [];
  const compare = (
    table: string,
    actual: readonly Pick<ColumnSpec, "name" | "type">[],
    expected: readonly ColumnLayout[],
  ) => {
    const got = actual.map((c) => `${c.name} ${c.type}`).join(", ");
    const want = expected.map((c) => `${c.name} ${c.type}`).join(", ");
    if (got !== want) problems.push(`table ${table} has columns (${got}), expected (${want})`);
  };
  if (!manifest.tables.some((t) => t.name === "person")) problems.push("no person table");
  for (const table of manifest.tables)
    compare(table.name, table.columns, OMOP_LITE_V2_TABLES[table.name]);
  for (const name of Object.keys(OMOP_LITE_V2_VOCABULARY) as VocabularyTableName[]) {
    const shipped = manifest.vocabulary?.find((t) => t.name === name);
    if (!shipped) problems.push(`vocabulary table ${name} is missing`);
    else compare(name, shipped.columns, OMOP_LITE_V2_VOCABULARY[name]);
  }
  return problems;
}
