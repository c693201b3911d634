import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { DatasetManifest, OmopTableName } from "@opencohort/validators";
import { computeContentHash } from "@opencohort/validators/content-hash";

/**
 * Tiny, hand-controlled datasets for tests: every row is known, so a test can say exactly
 * which person would be revealed if a defence failed.
 */

type Row = Record<string, string | number | null>;

export interface FixtureRows {
  person: Row[];
  condition_occurrence: Row[];
  drug_exposure: Row[];
  measurement: Row[];
  visit_occurrence: Row[];
}

/** The fixtures are omop-lite/1 folders: the five tables of that version. */
type FixtureTable = keyof FixtureRows & OmopTableName;

const tableColumns: Record<
  FixtureTable,
  Array<[string, "BIGINT" | "INTEGER" | "DOUBLE" | "VARCHAR" | "DATE"]>
> = {
  person: [
    ["person_id", "BIGINT"],
    ["year_of_birth", "INTEGER"],
    ["sex", "VARCHAR"],
    ["region", "VARCHAR"],
  ],
  condition_occurrence: [
    ["person_id", "BIGINT"],
    ["condition_code", "VARCHAR"],
    ["condition_start_date", "DATE"],
  ],
  drug_exposure: [
    ["person_id", "BIGINT"],
    ["drug_code", "VARCHAR"],
    ["drug_exposure_start_date", "DATE"],
    ["days_supply", "INTEGER"],
  ],
  measurement: [
    ["person_id", "BIGINT"],
    ["measurement_code", "VARCHAR"],
    ["value_as_number", "DOUBLE"],
    ["unit", "VARCHAR"],
    ["measurement_date", "DATE"],
  ],
  visit_occurrence: [
    ["person_id", "BIGINT"],
    ["visit_type", "VARCHAR"],
    ["visit_start_date", "DATE"],
    ["visit_end_date", "DATE"],
  ],
};

const declaredBounds: Record<string, { min: number; max: number }> = {
  "person.year_of_birth": { min: 1900, max: 2026 },
  "drug_exposure.days_supply": { min: 1, max: 365 },
  "measurement.value_as_number": { min: 0, max: 50 },
};

/**
 * Declared value sets: a vocabulary (the codes this source may use), never the distinct
 * values found in the data. A set derived from the data would publish that a rare code
 * occurs (here Q87.4, which only the centenarian has); a vocabulary says nothing about who
 * has what. Some codes below occur in no row, on purpose.
 */
const declaredValues: Record<string, string[]> = {
  "person.sex": ["F", "M"],
  "person.region": ["east", "north", "south", "west"],
  "condition_occurrence.condition_code": ["E10.9", "E11.65", "E11.9", "I10", "J45.909", "Q87.4"],
  "drug_exposure.drug_code": ["A10BA02", "A10BK01", "C09AA05", "C10AA05"],
  "measurement.measurement_code": ["2093-3", "4548-4", "8480-6"],
  "measurement.unit": ["%", "mg/dL", "mm[Hg]"],
  "visit_occurrence.visit_type": ["emergency", "inpatient", "outpatient", "telehealth"],
};

const observation = { min: "2015-01-01", max: "2026-11-20" };
const declaredDateRanges: Record<string, { min: string; max: string }> = {
  "condition_occurrence.condition_start_date": observation,
  "drug_exposure.drug_exposure_start_date": observation,
  "measurement.measurement_date": observation,
  "visit_occurrence.visit_start_date": observation,
  "visit_occurrence.visit_end_date": observation,
};

/**
 * Columns that may hold NULL: the numeric measures (days_supply, value_as_number) stay
 * nullable, so tests of NULL handling can write NULLs there. Everything else is declared
 * non-nullable.
 */
const nullableColumns = new Set(["drug_exposure.days_supply", "measurement.value_as_number"]);

type FixtureColumnSpec = DatasetManifest["tables"][number]["columns"][number];

/** Per-test changes to the declarations: `values` replaces a column's value set (undefined: none). */
export interface FixtureDeclarations {
  values?: Record<string, string[] | undefined>;
}

/** A fixture column with its declared domain (bounds, value set, date range, nullability). */
export function fixtureColumn(
  table: string,
  name: string,
  type: FixtureColumnSpec["type"],
  overrides: FixtureDeclarations = {},
): FixtureColumnSpec {
  const key = `${table}.${name}`;
  const bounds = declaredBounds[key];
  const values = key in (overrides.values ?? {}) ? overrides.values?.[key] : declaredValues[key];
  const dateRange = declaredDateRanges[key];
  return {
    name,
    type,
    ...(bounds ? { bounds } : {}),
    ...(values ? { values } : {}),
    ...(dateRange ? { dateRange } : {}),
    ...(nullableColumns.has(key) ? {} : { nullable: false }),
  };
}

/** Ids of the people the red-team tests try to single out. */
export const LONE_CENTENARIAN_ID = 9001; // born 1922, the only person born before 1950
export const OUTLIER_ID = 9002; // one HbA1c of 1,000,000 (declared bounds 0..50)
export const RARE_CODE = "Q87.4"; // only the centenarian has it
export const FIXTURE_PERSON_COUNT = 122;

/** Every table, no rows. */
export function emptyFixtureRows(): FixtureRows {
  return {
    person: [],
    condition_occurrence: [],
    drug_exposure: [],
    measurement: [],
    visit_occurrence: [],
  };
}

/**
 * 120 ordinary persons (1001..1120) plus the two targets. Every third person has type 2
 * diabetes (E11.9) with metformin and two HbA1c values; every fifth has hypertension (I10).
 */
export function standardFixture(): FixtureRows {
  const rows = emptyFixtureRows();
  const regions = ["north", "south", "east", "west"];
  for (let i = 1; i <= 120; i++) {
    const id = 1000 + i;
    rows.person.push({
      person_id: id,
      year_of_birth: 1950 + ((i * 7) % 50),
      sex: i % 2 === 0 ? "F" : "M",
      region: regions[i % 4] ?? "north",
    });
    const day = `2020-${String((i % 12) + 1).padStart(2, "0")}-${String((i % 28) + 1).padStart(2, "0")}`;
    if (i % 3 === 0) {
      rows.condition_occurrence.push({
        person_id: id,
        condition_code: "E11.9",
        condition_start_date: day,
      });
      rows.drug_exposure.push({
        person_id: id,
        drug_code: "A10BA02",
        drug_exposure_start_date: day,
        days_supply: 30,
      });
      for (const offset of [0, 1]) {
        rows.measurement.push({
          person_id: id,
          measurement_code: "4548-4",
          value_as_number: 6 + (i % 30) / 10 + offset,
          unit: "%",
          measurement_date: day,
        });
      }
    }
    if (i % 5 === 0) {
      rows.condition_occurrence.push({
        person_id: id,
        condition_code: "I10",
        condition_start_date: day,
      });
      rows.drug_exposure.push({
        person_id: id,
        drug_code: "C09AA05",
        drug_exposure_start_date: day,
        days_supply: 90,
      });
    }
    rows.visit_occurrence.push({
      person_id: id,
      visit_type: "outpatient",
      visit_start_date: day,
      visit_end_date: day,
    });
  }
  rows.person.push({
    person_id: LONE_CENTENARIAN_ID,
    year_of_birth: 1922,
    sex: "F",
    region: "north",
  });
  rows.condition_occurrence.push({
    person_id: LONE_CENTENARIAN_ID,
    condition_code: RARE_CODE,
    condition_start_date: "2021-03-04",
  });
  rows.condition_occurrence.push({
    person_id: LONE_CENTENARIAN_ID,
    condition_code: "E11.9",
    condition_start_date: "2021-03-04",
  });
  rows.person.push({ person_id: OUTLIER_ID, year_of_birth: 1960, sex: "M", region: "south" });
  rows.condition_occurrence.push({
    person_id: OUTLIER_ID,
    condition_code: "E11.9",
    condition_start_date: "2021-05-06",
  });
  rows.measurement.push({
    person_id: OUTLIER_ID,
    measurement_code: "4548-4",
    value_as_number: 1_000_000,
    unit: "%",
    measurement_date: "2021-05-06",
  });
  return rows;
}

export function standardPersonIds(): bigint[] {
  return standardFixture().person.map((p) => BigInt(p.person_id as number));
}

/** Writes the rows as Parquet through DuckDB COPY and a manifest with the real content hash. */
export async function writeFixtureDataset(
  dir: string,
  rows: FixtureRows,
  declarations: FixtureDeclarations = {},
): Promise<DatasetManifest> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const tables: DatasetManifest["tables"] = [];
  try {
    for (const [name, columns] of Object.entries(tableColumns) as Array<
      [FixtureTable, (typeof tableColumns)[FixtureTable]]
    >) {
      const jsonPath = join(dir, `${name}.ndjson`);
      await writeFile(jsonPath, rows[name].map((r) => JSON.stringify(r)).join("\n"));
      const columnSpec = columns.map(([c, t]) => `'${c}': '${t}'`).join(", ");
      const file = `${name}.parquet`;
      const select =
        rows[name].length === 0
          ? `SELECT ${columns.map(([c, t]) => `NULL::${t} AS ${c}`).join(", ")} WHERE false`
          : `SELECT * FROM read_json('${jsonPath}', format = 'newline_delimited', columns = {${columnSpec}})`;
      await connection.run(`COPY (${select}) TO '${join(dir, file)}' (FORMAT parquet)`);
      await rm(jsonPath);
      tables.push({
        name,
        file,
        rowCount: rows[name].length,
        columns: columns.map(([c, t]) => fixtureColumn(name, c, t, declarations)),
      });
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  const manifest: DatasetManifest = {
    format: "opencohort-dataset/1",
    schemaVersion: "omop-lite/1",
    title: "Red-team fixture",
    description: "Hand-written rows for tests",
    personCount: rows.person.length,
    tables,
    contentHash: await computeContentHash(dir, tables),
    createdAt: "2026-11-21T00:00:00.000Z",
  };
  await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2));
  return manifest;
}

export async function makeTempDir(prefix = "oc-compute-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function writeStandardFixture(): Promise<string> {
  const dir = await makeTempDir();
  await writeFixtureDataset(dir, standardFixture());
  return dir;
}

/**
 * A dataset built for runaway queries: 20 persons with 3,000 visits, measurements and drug
 * exposures each, so a three-way join on person_id has 2.7e10 rows per person.
 */
export async function writeHeavyFixture(): Promise<string> {
  const dir = await makeTempDir("oc-heavy-");
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  const perPerson = 3000;
  const selects: Record<FixtureTable, string> = {
    person:
      "SELECT range::BIGINT AS person_id, (1950 + range)::INTEGER AS year_of_birth, 'F' AS sex, 'north' AS region FROM range(20)",
    condition_occurrence:
      "SELECT range::BIGINT AS person_id, 'E11.9' AS condition_code, DATE '2020-01-01' AS condition_start_date FROM range(20)",
    drug_exposure: `SELECT (range % 20)::BIGINT AS person_id, 'A10BA02' AS drug_code, (DATE '2020-01-01' + (range % 365)::INTEGER) AS drug_exposure_start_date, 30 AS days_supply FROM range(${20 * perPerson})`,
    measurement: `SELECT (range % 20)::BIGINT AS person_id, '4548-4' AS measurement_code, (range % 40)::DOUBLE AS value_as_number, '%' AS unit, (DATE '2020-01-01' + (range % 365)::INTEGER) AS measurement_date FROM range(${20 * perPerson})`,
    visit_occurrence: `SELECT (range % 20)::BIGINT AS person_id, 'outpatient' AS visit_type, (DATE '2020-01-01' + (range % 365)::INTEGER) AS visit_start_date, (DATE '2020-01-01' + (range % 365)::INTEGER) AS visit_end_date FROM range(${20 * perPerson})`,
  };
  const tables: DatasetManifest["tables"] = [];
  try {
    for (const [name, columns] of Object.entries(tableColumns) as Array<
      [FixtureTable, (typeof tableColumns)[FixtureTable]]
    >) {
      const file = `${name}.parquet`;
      await connection.run(`COPY (${selects[name]}) TO '${join(dir, file)}' (FORMAT parquet)`);
      tables.push({
        name,
        file,
        rowCount: 0,
        columns: columns.map(([c, t]) => fixtureColumn(name, c, t)),
      });
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  const manifest: DatasetManifest = {
    format: "opencohort-dataset/1",
    schemaVersion: "omop-lite/1",
    title: "Heavy fixture",
    description: "",
    personCount: 20,
    tables,
    contentHash: await computeContentHash(dir, tables),
    createdAt: "2026-11-21T00:00:00.000Z",
  };
  await writeFile(join(dir, "manifest.json"), JSON.stringify(manifest, null, 2));
  return dir;
}
