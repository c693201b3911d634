import type { ColumnSpec, OmopTableName } from "@opencohort/validators";
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

export const SCHEMA_VERSION = "omop-lite/1";

export interface OutputTable {
  name: OmopTableName;
  file: `${OmopTableName}.parquet`;
  columns: ColumnSpec[];
}

const personIdColumn: ColumnSpec = {
  name: "person_id",
  type: "BIGINT",
  description: "Pseudonym (seeded Feistel permutation); an identifier, not a quantity.",
  nullable: false,
};

/**
 * Value sets are the generator's own code lists (its vocabulary), never the distinct values
 * found in the data: a set read from the data would publish that a rare code occurs at all
 * (a handful of persons per 100,000), while the vocabulary says only what may be coded.
 * Sorted and unique, as the manifest schema requires.
 */
const vocabulary = (codes: Iterable<string>) => [...new Set(codes)].sort();

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

export const OUTPUT_TABLES: readonly OutputTable[] = [
  {
    name: "person",
    file: "person.parquet",
    columns: [
      personIdColumn,
      {
        name: "year_of_birth",
        type: "INTEGER",
        bounds: { min: YEAR_OF_BIRTH_MIN, max: REFERENCE_YEAR },
        nullable: false,
      },
      {
        name: "sex",
        type: "VARCHAR",
        description: "'F' or 'M'.",
        values: ["F", "M"],
        nullable: false,
      },
      {
        name: "region",
        type: "VARCHAR",
        description: "Capital, North, East, South or West.",
        values: vocabulary(REGIONS.map((region) => region.name)),
        nullable: false,
      },
    ],
  },
  {
    name: "condition_occurrence",
    file: "condition_occurrence.parquet",
    columns: [
      personIdColumn,
      {
        name: "condition_code",
        type: "VARCHAR",
        description: "ICD-10 code, e.g. E11.9.",
        values: vocabulary(CONDITIONS.flatMap((condition) => condition.codes.map((c) => c.code))),
        nullable: false,
      },
      {
        name: "condition_start_date",
        type: "DATE",
        dateRange: observationWindow,
        nullable: false,
      },
    ],
  },
  {
    name: "drug_exposure",
    file: "drug_exposure.parquet",
    columns: [
      personIdColumn,
      {
        name: "drug_code",
        type: "VARCHAR",
        description: "ATC code, e.g. A10BA02 (metformin).",
        values: vocabulary(DRUGS.map((drug) => drug.atc)),
        nullable: false,
      },
      {
        name: "drug_exposure_start_date",
        type: "DATE",
        dateRange: observationWindow,
        nullable: false,
      },
      {
        name: "days_supply",
        type: "INTEGER",
        bounds: { ...DAYS_SUPPLY_BOUNDS },
        nullable: false,
      },
    ],
  },
  {
    name: "measurement",
    file: "measurement.parquet",
    columns: [
      personIdColumn,
      {
        name: "measurement_code",
        type: "VARCHAR",
        description: "LOINC code, e.g. 4548-4 (HbA1c).",
        values: vocabulary(MEASUREMENTS.map((measurement) => measurement.loinc)),
        nullable: false,
      },
      {
        name: "value_as_number",
        type: "DOUBLE",
        description: "Bounds cover every code; units differ per code.",
        bounds: valueBounds,
        nullable: false,
      },
      {
        name: "unit",
        type: "VARCHAR",
        description: "UCUM unit of the code.",
        values: vocabulary(MEASUREMENTS.map((measurement) => measurement.unit)),
        nullable: false,
      },
      { name: "measurement_date", type: "DATE", dateRange: observationWindow, nullable: false },
    ],
  },
  {
    name: "visit_occurrence",
    file: "visit_occurrence.parquet",
    columns: [
      personIdColumn,
      {
        name: "visit_type",
        type: "VARCHAR",
        description: VISIT_TYPES.join(", "),
        values: vocabulary(VISIT_TYPES),
        nullable: false,
      },
      { name: "visit_start_date", type: "DATE", dateRange: observationWindow, nullable: false },
      { name: "visit_end_date", type: "DATE", dateRange: observationWindow, nullable: false },
    ],
  },
];
