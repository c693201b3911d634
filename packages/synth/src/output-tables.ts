import type { ColumnSpec, OmopTableName } from "@opencohort/validators";
import {
  DAYS_SUPPLY_BOUNDS,
  MEASUREMENTS,
  REFERENCE_YEAR,
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
};

/**
 * Bounds are declared from the generator's design, never measured from the data: a bound
 * taken from the data would itself publish the most extreme person (the oldest birth year,
 * the highest lab value). Dates carry no bounds.
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
      },
      { name: "sex", type: "VARCHAR", description: "'F' or 'M'." },
      { name: "region", type: "VARCHAR", description: "Capital, North, East, South or West." },
    ],
  },
  {
    name: "condition_occurrence",
    file: "condition_occurrence.parquet",
    columns: [
      personIdColumn,
      { name: "condition_code", type: "VARCHAR", description: "ICD-10 code, e.g. E11.9." },
      { name: "condition_start_date", type: "DATE" },
    ],
  },
  {
    name: "drug_exposure",
    file: "drug_exposure.parquet",
    columns: [
      personIdColumn,
      { name: "drug_code", type: "VARCHAR", description: "ATC code, e.g. A10BA02 (metformin)." },
      { name: "drug_exposure_start_date", type: "DATE" },
      { name: "days_supply", type: "INTEGER", bounds: { ...DAYS_SUPPLY_BOUNDS } },
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
      },
      {
        name: "value_as_number",
        type: "DOUBLE",
        description: "Bounds cover every code; units differ per code.",
        bounds: valueBounds,
      },
      { name: "unit", type: "VARCHAR", description: "UCUM unit of the code." },
      { name: "measurement_date", type: "DATE" },
    ],
  },
  {
    name: "visit_occurrence",
    file: "visit_occurrence.parquet",
    columns: [
      personIdColumn,
      { name: "visit_type", type: "VARCHAR", description: VISIT_TYPES.join(", ") },
      { name: "visit_start_date", type: "DATE" },
      { name: "visit_end_date", type: "DATE" },
    ],
  },
];
