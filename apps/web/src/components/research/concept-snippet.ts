/**
 * What the schema panel's concept search inserts into the SQL editor: a concept and the
 * concepts below it, on the concept column of the table its domain lives in. Kept free of
 * React so it is tested on its own.
 */

/** The concept column of each OMOP domain in an omop-lite/2 dataset. */
const CONCEPT_COLUMNS: Readonly<Record<string, string>> = {
  Condition: "condition_concept_id",
  Drug: "drug_concept_id",
  Measurement: "measurement_concept_id",
  Procedure: "procedure_concept_id",
  Observation: "observation_concept_id",
  Visit: "visit_concept_id",
};

/** Domains whose table the engine expands descendant_of over (visit has no hierarchy use). */
const HIERARCHY_DOMAINS = new Set(["Condition", "Drug", "Measurement", "Procedure", "Observation"]);

export interface ConceptRow {
  conceptId: number;
  name: string;
  vocabulary: string;
  code: string;
  domain: string;
}

/**
 * `descendant_of(condition_concept_id, 192671)` for a concept of a clinical domain, an
 * equality on its column for a visit concept, the bare id otherwise.
 */
export function conceptSnippet(concept: ConceptRow): string {
  const column = CONCEPT_COLUMNS[concept.domain];
  if (!column) return String(concept.conceptId);
  return HIERARCHY_DOMAINS.has(concept.domain)
    ? `descendant_of(${column}, ${concept.conceptId})`
    : `${column} = ${concept.conceptId}`;
}

/** VOCABULARY:CODE, the spelling the catalogue and the cohort builder use. */
export const conceptCode = (concept: Pick<ConceptRow, "vocabulary" | "code">) =>
  `${concept.vocabulary}:${concept.code}`;
