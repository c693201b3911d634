import {
  type CohortDefinition,
  type CohortDefinitionInput,
  type ConceptCriterion,
  cohortDefinitionSchema,
} from "@opencohort/validators";
import type { DatasetCatalogue } from "../catalogue/dataset";

/**
 * Compiles a cohort definition to plain SQL text. The engine then parses and validates that
 * text like any researcher's query, so the cohort builder cannot reach further than SQL can.
 */

const domains = {
  condition: {
    table: "condition_occurrence",
    code: "condition_code",
    date: "condition_start_date",
  },
  drug: { table: "drug_exposure", code: "drug_code", date: "drug_exposure_start_date" },
  measurement: { table: "measurement", code: "measurement_code", date: "measurement_date" },
} as const;

const quote = (value: string) => `'${value.replaceAll("'", "''")}'`;

const numberLiteral = (value: number) => {
  if (!Number.isFinite(value)) throw new Error("non-finite number in cohort definition");
  return String(value);
};

function criterionSql(criterion: ConceptCriterion, negated: boolean): string {
  const domain = domains[criterion.domain];
  const exact = criterion.codes.filter((c) => !c.endsWith("*"));
  const prefixes = criterion.codes.filter((c) => c.endsWith("*")).map((c) => c.slice(0, -1));
  const codeTerms: string[] = [];
  if (exact.length > 0) codeTerms.push(`${domain.code} IN (${exact.map(quote).join(", ")})`);
  for (const prefix of prefixes) codeTerms.push(`${domain.code} LIKE ${quote(`${prefix}%`)}`);
  const conditions = [
    codeTerms.length === 1 ? (codeTerms[0] as string) : `(${codeTerms.join(" OR ")})`,
  ];
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
  for (const c of definition.inclusion) where.push(criterionSql(c, false));
  for (const c of definition.exclusion) where.push(criterionSql(c, true));
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
