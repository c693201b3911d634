/**
 * The OMOP CDM v5.3/v5.4 tables and columns the importer reads (everything else is dropped).
 * A column marked optional may be absent (it differs between versions and exports); a
 * required one must be there. Names are matched case-insensitively.
 */
export type SourceType = "BIGINT" | "INTEGER" | "DOUBLE" | "VARCHAR" | "DATE";

export interface SourceColumn {
  name: string;
  type: SourceType;
  optional?: true;
}

const col = (name: string, type: SourceType, optional?: "optional"): SourceColumn =>
  optional ? { name, type, optional: true } : { name, type };

export const OMOP_SOURCE_TABLES = {
  person: [
    col("person_id", "BIGINT"),
    col("gender_concept_id", "INTEGER"),
    col("year_of_birth", "INTEGER"),
    col("location_id", "BIGINT", "optional"),
  ],
  location: [col("location_id", "BIGINT"), col("state", "VARCHAR", "optional")],
  observation_period: [
    col("person_id", "BIGINT"),
    col("observation_period_start_date", "DATE"),
    col("observation_period_end_date", "DATE"),
  ],
  condition_occurrence: [
    col("person_id", "BIGINT"),
    col("condition_concept_id", "INTEGER"),
    col("condition_start_date", "DATE"),
    col("condition_end_date", "DATE", "optional"),
    col("condition_source_concept_id", "INTEGER", "optional"),
  ],
  condition_era: [
    col("person_id", "BIGINT"),
    col("condition_concept_id", "INTEGER"),
    col("condition_era_start_date", "DATE"),
    col("condition_era_end_date", "DATE", "optional"),
  ],
  drug_exposure: [
    col("person_id", "BIGINT"),
    col("drug_concept_id", "INTEGER"),
    col("drug_exposure_start_date", "DATE"),
    col("drug_exposure_end_date", "DATE", "optional"),
    col("days_supply", "INTEGER", "optional"),
    col("drug_source_concept_id", "INTEGER", "optional"),
  ],
  drug_era: [
    col("person_id", "BIGINT"),
    col("drug_concept_id", "INTEGER"),
    col("drug_era_start_date", "DATE"),
    col("drug_era_end_date", "DATE", "optional"),
  ],
  measurement: [
    col("person_id", "BIGINT"),
    col("measurement_concept_id", "INTEGER"),
    col("measurement_date", "DATE"),
    col("value_as_number", "DOUBLE", "optional"),
    col("unit_source_value", "VARCHAR", "optional"),
    col("measurement_source_concept_id", "INTEGER", "optional"),
  ],
  procedure_occurrence: [
    col("person_id", "BIGINT"),
    col("procedure_concept_id", "INTEGER"),
    col("procedure_date", "DATE"),
    col("procedure_source_concept_id", "INTEGER", "optional"),
  ],
  observation: [
    col("person_id", "BIGINT"),
    col("observation_concept_id", "INTEGER"),
    col("observation_date", "DATE"),
    col("observation_source_concept_id", "INTEGER", "optional"),
  ],
  visit_occurrence: [
    col("person_id", "BIGINT"),
    col("visit_concept_id", "INTEGER"),
    col("visit_start_date", "DATE"),
    col("visit_end_date", "DATE", "optional"),
  ],
  death: [col("person_id", "BIGINT"), col("death_date", "DATE")],
  concept: [
    col("concept_id", "INTEGER"),
    col("concept_name", "VARCHAR"),
    col("domain_id", "VARCHAR"),
    col("vocabulary_id", "VARCHAR"),
    col("concept_code", "VARCHAR"),
    col("standard_concept", "VARCHAR", "optional"),
  ],
  concept_ancestor: [
    col("ancestor_concept_id", "INTEGER"),
    col("descendant_concept_id", "INTEGER"),
    col("min_levels_of_separation", "INTEGER"),
  ],
  /** Read for FHIR imports only: "Maps to" from a source code to its standard concept. */
  concept_relationship: [
    col("concept_id_1", "INTEGER"),
    col("concept_id_2", "INTEGER"),
    col("relationship_id", "VARCHAR"),
    col("invalid_reason", "VARCHAR", "optional"),
  ],
} as const satisfies Record<string, readonly SourceColumn[]>;

export type OmopSourceTable = keyof typeof OMOP_SOURCE_TABLES;

/** Without these there is no dataset: persons, and the vocabulary that names the codes. */
export const REQUIRED_SOURCE_TABLES: readonly OmopSourceTable[] = ["person", "concept"];

/**
 * What an OMOP export holds that a dataset never keeps, and why: shown in the import report.
 * Free text, names, addresses, exact birth dates and identifiers are not carried.
 */
export const DROPPED_OMOP_FIELDS: readonly { field: string; reason: string }[] = [
  { field: "person.month_of_birth, day_of_birth, birth_datetime", reason: "exact birth date" },
  { field: "person.person_source_value", reason: "identifier" },
  { field: "person.person_id", reason: "replaced by a keyed pseudonym" },
  { field: "person.race_*, ethnicity_*", reason: "not in the dataset schema" },
  { field: "location.address_1, address_2, city, zip, county", reason: "address" },
  { field: "provider, care_site, *_provider_id, *_care_site_id", reason: "identifier" },
  { field: "note, note_nlp", reason: "free text" },
  { field: "*_source_value, value_as_string", reason: "free text or source identifier" },
  { field: "*_datetime", reason: "time of day (dates are kept)" },
];
