import {
  type ColumnSpec,
  KNOWN_VOCABULARIES,
  OMOP_LITE_V2,
  OMOP_LITE_V2_TABLES,
  OMOP_LITE_V2_VOCABULARY,
  type OmopTableName,
  type VocabularyTableName,
} from "@opencohort/validators";
import {
  CONDITIONS,
  DAYS_SUPPLY_BOUNDS,
  DRUGS,
  MEASUREMENTS,
  OBSERVATION_END,
  OBSERVATION_START,
  REFERENCE_YEAR,
  REGIONS,
  VISIT_TYPES,
  YEAR_OF_BIRTH_MIN,
} from "./catalog";

export const SCHEMA_VERSION = OMOP_LITE_V2;

export interface OutputTable<Name extends string = OmopTableName> {
  name: Name;
  file: `${Name}.parquet`;
  columns: ColumnSpec[];
}

/**
 * A table in the omop-lite/2 layout (names, types, order and nullability from the validators),
 * with this generator's declarations (descriptions, bounds, value sets) laid over it.
 */
function layout<Name extends OmopTableName | VocabularyTableName>(
  name: Name,
  declarations: Record<string, Omit<Partial<ColumnSpec>, "name" | "type">>,
): OutputTable<Name> {
  const columns =
    name in OMOP_LITE_V2_TABLES
      ? OMOP_LITE_V2_TABLES[name as OmopTableName]
      : OMOP_LITE_V2_VOCABULARY[name as VocabularyTableName];
  return {
    name,
    file: `${name}.parquet`,
    columns: columns.map((column) => ({ ...column, ...declarations[column.name] })),
  };
}

const personIdDeclaration = {
  description: "Pseudonym (seeded Feistel permutation); an identifier, not a quantity.",
};
const conceptIdDeclaration = {
  description: "Concept id in the shipped vocabulary (local ids above 2,000,000,000).",
};
/**
 * Value sets are the generator's own code lists (its vocabulary), never the distinct values
 * found in the data: a set read from the data would publish that a rare code occurs at all
 * (a handful of persons per 100,000), while the vocabulary says only what may be coded.
 * Sorted and unique, as the manifest schema requires.
 */
const valueSet = (codes: Iterable<string>) => [...new Set(codes)].sort();

/** Every event falls in the observation window (the SQL clamps to it). */
const observationWindow = { min: OBSERVATION_START, max: OBSERVATION_END };

/**
 * Bounds are declared from the generator's design, never measured from the data: a bound
 * taken from the data would itself publish the most extreme person (the oldest birth year,
 * the highest lab value). Dates carry a date range (the observation window), not bounds.
 */
const valueBounds = {
  min: Math.min(...MEASUREMENTS.map((measurement) => measurement.min)),
  max: Math.max(...MEASUREMENTS.map((measurement) => measurement.max)),
};

const vocabularyValues = { values: valueSet(KNOWN_VOCABULARIES) };

export const OUTPUT_TABLES: readonly OutputTable[] = [
  layout("person", {
    person_id: personIdDeclaration,
    year_of_birth: { bounds: { min: YEAR_OF_BIRTH_MIN, max: REFERENCE_YEAR }, nullable: false },
    sex: { description: "'F' or 'M'.", values: ["F", "M"], nullable: false },
    region: {
      description: "Capital, North, East, South or West.",
      values: valueSet(REGIONS.map((region) => region.name)),
      nullable: false,
    },
  }),
  layout("condition_occurrence", {
    person_id: personIdDeclaration,
    condition_concept_id: conceptIdDeclaration,
    condition_vocabulary: vocabularyValues,
    condition_code: {
      description: "ICD-10 code, e.g. E11.9.",
      values: valueSet(CONDITIONS.flatMap((condition) => condition.codes.map((c) => c.code))),
    },
    condition_start_date: { dateRange: observationWindow },
    condition_end_date: { description: "Not recorded by the generator (always NULL)." },
  }),
  layout("drug_exposure", {
    person_id: personIdDeclaration,
    drug_concept_id: conceptIdDeclaration,
    drug_vocabulary: vocabularyValues,
    drug_code: {
      description: "ATC code, e.g. A10BA02 (metformin).",
      values: valueSet(DRUGS.map((drug) => drug.atc)),
    },
    drug_exposure_start_date: { dateRange: observationWindow },
    drug_exposure_end_date: { description: "Start date + days_supply - 1." },
    days_supply: { bounds: { ...DAYS_SUPPLY_BOUNDS }, nullable: false },
  }),
  layout("measurement", {
    person_id: personIdDeclaration,
    measurement_concept_id: conceptIdDeclaration,
    measurement_vocabulary: vocabularyValues,
    measurement_code: {
      description: "LOINC code, e.g. 4548-4 (HbA1c).",
      values: valueSet(MEASUREMENTS.map((measurement) => measurement.loinc)),
    },
    value_as_number: {
      description:
        "Bounds cover every code; units differ per code (codeBounds: each code's range).",
      bounds: valueBounds,
      codeBounds: MEASUREMENTS.map((measurement) => ({
        code: `LOINC:${measurement.loinc}`,
        min: measurement.min,
        max: measurement.max,
        unit: measurement.unit,
      })).sort((a, b) => (a.code < b.code ? -1 : 1)),
      nullable: false,
    },
    unit: {
      description: "UCUM unit of the code.",
      values: valueSet(MEASUREMENTS.map((measurement) => measurement.unit)),
      nullable: false,
    },
    measurement_date: { dateRange: observationWindow },
  }),
  layout("visit_occurrence", {
    person_id: personIdDeclaration,
    visit_concept_id: { description: "OMOP visit concept (9201 inpatient, 9202 outpatient, ...)." },
    visit_type: { description: VISIT_TYPES.join(", "), values: valueSet(VISIT_TYPES) },
    visit_start_date: { dateRange: observationWindow },
    visit_end_date: { dateRange: observationWindow },
  }),
  layout("observation_period", {
    person_id: personIdDeclaration,
    observation_period_start_date: { dateRange: observationWindow },
    observation_period_end_date: { dateRange: observationWindow },
  }),
];

/** The shipped vocabulary: every concept the generator can code, and its ancestors. */
export const VOCABULARY_TABLES: readonly OutputTable<VocabularyTableName>[] = [
  layout("concept", {}),
  layout("concept_ancestor", {
    min_levels_of_separation: { bounds: { min: 0, max: 4 } },
  }),
];
