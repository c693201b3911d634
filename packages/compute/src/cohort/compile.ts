import {
  type CohortDefinition,
  type CohortDefinitionInput,
  type ConceptCriterion,
  codeVocabulary,
  cohortDefinitionSchema,
} from "@opencohort/validators";
import type { DatasetCatalogue } from "../catalogue/dataset";
import { CONCEPT_SET_FUNCTION } from "../query/validate";

/**
 * Compiles a cohort definition to plain SQL text. The engine then parses and validates that
 * text like any researcher's query, so the cohort builder cannot reach further than SQL can.
 */

const domains = {
  condition: {
    table: "condition_occurrence",
    code: "condition_code",
    concept: "condition_concept_id",
    vocabulary: "condition_vocabulary",
    date: "condition_start_date",
  },
  drug: {
    table: "drug_exposure",
    code: "drug_code",
    concept: "drug_concept_id",
    vocabulary: "drug_vocabulary",
    date: "drug_exposure_start_date",
  },
  measurement: {
    table: "measurement",
    code: "measurement_code",
    concept: "measurement_concept_id",
    vocabulary: "measurement_vocabulary",
    date: "measurement_date",
  },
} as const;

/**
 * The OMOP vocabularies a catalogue vocabulary name stands for: "ICD10:E11" finds ICD-10 and
 * its US clinical modification alike (the catalogue writes ICD10 for both).
 */
const VOCABULARY_FAMILIES: Readonly<Record<string, readonly string[]>> = {
  ICD10: ["ICD10", "ICD10CM"],
  RXNORM: ["RxNorm", "RxNorm Extension"],
  SNOMED: ["SNOMED"],
};

const quote = (value: string) => `'${value.replaceAll("'", "''")}'`;

const numberLiteral = (value: number) => {
  if (!Number.isFinite(value)) throw new Error("non-finite number in cohort definition");
  return String(value);
};

const hasColumn = (catalogue: DatasetCatalogue, table: string, column: string) =>
  catalogue.tables.some((t) => t.name === table && t.columns.some((c) => c.name === column));

/**
 * The codes (exact or prefix*, optionally VOCABULARY:code) or the concepts (with descendants
 * through the shipped concept_ancestor, as descendant_of) of one criterion.
 */
function codeOrConceptTerm(criterion: ConceptCriterion, catalogue: DatasetCatalogue): string {
  const domain = domains[criterion.domain];
  if (criterion.concepts.length > 0) {
    const withDescendants = criterion.concepts.filter((c) => c.descendants).map((c) => c.id);
    const only = criterion.concepts.filter((c) => !c.descendants).map((c) => c.id);
    const terms: string[] = [];
    if (withDescendants.length > 0) {
      terms.push(`${CONCEPT_SET_FUNCTION}(${domain.concept}, ${withDescendants.join(", ")})`);
    }
    if (only.length > 0) terms.push(`${domain.concept} IN (${only.join(", ")})`);
    return terms.length === 1 ? (terms[0] as string) : `(${terms.join(" OR ")})`;
  }
  const vocabulary = codeVocabulary(criterion.codes[0] as string);
  const bare = criterion.codes.map((c) => (vocabulary ? c.slice(vocabulary.length + 1) : c));
  const exact = bare.filter((c) => !c.endsWith("*"));
  const prefixes = bare.filter((c) => c.endsWith("*")).map((c) => c.slice(0, -1));
  const codeTerms: string[] = [];
  if (exact.length > 0) codeTerms.push(`${domain.code} IN (${exact.map(quote).join(", ")})`);
  for (const prefix of prefixes) codeTerms.push(`${domain.code} LIKE ${quote(`${prefix}%`)}`);
  const codes = codeTerms.length === 1 ? (codeTerms[0] as string) : `(${codeTerms.join(" OR ")})`;
  // Older datasets hold one vocabulary per column and have no vocabulary column.
  if (!vocabulary || !hasColumn(catalogue, domain.table, domain.vocabulary)) return codes;
  const family = VOCABULARY_FAMILIES[vocabulary.toUpperCase()] ?? [vocabulary];
  return `${domain.vocabulary} IN (${family.map(quote).join(", ")}) AND ${codes}`;
}

function criterionSql(
  criterion: ConceptCriterion,
  negated: boolean,
  catalogue: DatasetCatalogue,
): string {
  const domain = domains[criterion.domain];
  const conditions = [codeOrConceptTerm(criterion, catalogue)];
  if (criterion.window?.from)
    conditions.push(`${domain.date} >= DATE ${quote(criterion.window.from)}`);
  if (criterion.window?.to) conditions.push(`${domain.date} <= DATE ${quote(criterion.window.to)}`);
  if (criterion.valueRange) {
    if (criterion.domain !== "measurement")
      throw new Error("valueRange applies to measurements only");
    if (criterion.valueRange.min !== undefined) {
      conditions.push(`value_as_number >= ${numberLiteral(criterion.valueRange.min)}`);
    }
    if (criterion.valueRange.max !== undefined) {
      conditions.push(`value_as_number <= ${numberLiteral(criterion.valueRange.max)}`);
    }
  }
  return `person_id ${negated ? "NOT IN" : "IN"} (SELECT person_id FROM ${domain.table} WHERE ${conditions.join(" AND ")})`;
}

export function parseCohortDefinition(input: CohortDefinitionInput): CohortDefinition {
  return cohortDefinitionSchema.parse(input);
}

/** The SQL a cohort definition stands for: distinct persons, grouped as asked. */
export function cohortToSql(definition: CohortDefinition, catalogue: DatasetCatalogue): string {
  const dimensions = definition.output.groupBy.map((g) =>
    g === "age_band" ? `age_band(year_of_birth, ${definition.output.ageBandWidth}) AS age_band` : g,
  );
  const where: string[] = [];
  if (definition.sex) where.push(`sex IN (${definition.sex.map(quote).join(", ")})`);
  if (definition.regions) where.push(`region IN (${definition.regions.map(quote).join(", ")})`);
  if (definition.age?.min !== undefined) {
    where.push(`year_of_birth <= ${catalogue.referenceYear - definition.age.min}`);
  }
  if (definition.age?.max !== undefined) {
    where.push(`year_of_birth >= ${catalogue.referenceYear - definition.age.max}`);
  }
  for (const c of definition.inclusion) where.push(criterionSql(c, false, catalogue));
  for (const c of definition.exclusion) where.push(criterionSql(c, true, catalogue));
  const groupBy = definition.output.groupBy.map((g) => (g === "age_band" ? "age_band" : g));
  return [
    `SELECT ${[...dimensions, "count(DISTINCT person_id) AS persons"].join(", ")}`,
    "FROM person",
    where.length > 0 ? `WHERE ${where.join("\n  AND ")}` : "",
    groupBy.length > 0 ? `GROUP BY ${groupBy.join(", ")}` : "",
  ]
    .filter((line) => line !== "")
    .join("\n");
}
