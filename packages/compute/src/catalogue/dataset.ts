import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  CODED_TABLES,
  type ColumnSpec,
  type DatasetManifest,
  datasetManifestSchema,
  hashedFiles,
  type OmopTableName,
  schemaProblems,
} from "@opencohort/validators";
import { computeContentHash } from "@opencohort/validators/content-hash";
import type { ColumnDomain } from "../query/constraints";
import { type ConceptHierarchy, loadConceptHierarchy } from "./vocabulary";

export type ColumnType = ColumnSpec["type"];

export interface CatalogueColumn {
  name: string;
  type: ColumnType;
  description?: string;
  /**
   * Declared bounds; sum and avg clamp into them (absent: the column cannot be summed), and
   * filters and groups treat a value outside them as the nearest bound (winsorised).
   */
  bounds?: { min: number; max: number };
  /** Declared value set of a text column (sorted, unique), verified at open. */
  values?: string[];
  /** Declared date range of a DATE column (YYYY-MM-DD, inclusive), verified at open. */
  dateRange?: { min: string; max: string };
  /** False: declared (and verified at open) to hold no NULL. Absent: NULLs may occur. */
  nullable?: boolean;
  /** Declared bounds per code of the row (VOCABULARY:CODE): values clamp into them at open. */
  codeBounds?: { code: string; min: number; max: number; unit?: string }[];
}

export interface CatalogueTable {
  name: OmopTableName;
  file: string;
  rowCount: number;
  columns: CatalogueColumn[];
}

/**
 * An opened, verified dataset version: what the API shows in the SQL editor and what the
 * validator checks queries against. `dir` and `file` never reach a researcher.
 */
export interface DatasetCatalogue {
  dir: string;
  contentHash: `0x${string}`;
  schemaVersion: string;
  title: string;
  personCount: number;
  /** Ages are computed at this year (the year the version was created), so they are stable. */
  referenceYear: number;
  tables: CatalogueTable[];
  /** The shipped concept hierarchy (omop-lite/2); never sent to a researcher. */
  conceptHierarchy?: ConceptHierarchy;
}

export class DatasetOpenError extends Error {
  override name = "DatasetOpenError";
}

/** Every table is joinable on this column; the engine relies on it. */
export const PERSON_ID = "person_id";

/**
 * Opens a dataset version folder: reads manifest.json, validates it, checks every table has a
 * person_id column, and verifies the content hash against the Parquet bytes.
 */
export async function openDataset(
  dir: string,
  options: { verifyContentHash?: boolean } = {},
): Promise<DatasetCatalogue> {
  const absoluteDir = resolve(dir);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(resolve(absoluteDir, "manifest.json"), "utf8"));
  } catch (cause) {
    throw new DatasetOpenError("manifest.json is missing or not JSON", { cause });
  }
  const parsed = datasetManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new DatasetOpenError(`manifest.json is invalid: ${parsed.error.message}`);
  }
  const manifest: DatasetManifest = parsed.data;
  // Version-aware: omop-lite/1 folders open as before; omop-lite/2 must keep its layout.
  const problems = schemaProblems(manifest);
  if (problems.length > 0) {
    throw new DatasetOpenError(`${manifest.schemaVersion} layout: ${problems.join("; ")}`);
  }
  const names = new Set<string>();
  for (const table of manifest.tables) {
    if (names.has(table.name)) throw new DatasetOpenError(`table ${table.name} listed twice`);
    names.add(table.name);
    const personId = table.columns.find((c) => c.name === PERSON_ID);
    if (!personId || (personId.type !== "BIGINT" && personId.type !== "INTEGER")) {
      throw new DatasetOpenError(`table ${table.name} has no integer person_id column`);
    }
  }
  if (options.verifyContentHash !== false) {
    const actual = await computeContentHash(absoluteDir, hashedFiles(manifest));
    if (actual !== manifest.contentHash) {
      throw new DatasetOpenError("content hash does not match the Parquet files");
    }
  }
  const conceptHierarchy = await loadConceptHierarchy(absoluteDir, manifest);
  return {
    ...(conceptHierarchy ? { conceptHierarchy } : {}),
    dir: absoluteDir,
    contentHash: manifest.contentHash as `0x${string}`,
    schemaVersion: manifest.schemaVersion,
    title: manifest.title,
    personCount: manifest.personCount,
    referenceYear: new Date(manifest.createdAt).getUTCFullYear(),
    tables: manifest.tables.map((t) => ({
      name: t.name,
      file: t.file,
      rowCount: t.rowCount,
      columns: t.columns.map((c) => ({
        name: c.name,
        type: c.type,
        ...(c.description !== undefined ? { description: c.description } : {}),
        ...(c.bounds !== undefined ? { bounds: c.bounds } : {}),
        ...(c.values !== undefined ? { values: c.values } : {}),
        ...(c.dateRange !== undefined ? { dateRange: c.dateRange } : {}),
        ...(c.nullable === false ? { nullable: false } : {}),
        ...(c.codeBounds !== undefined ? { codeBounds: c.codeBounds } : {}),
      })),
    })),
  };
}

/**
 * The declared domain of a column, in the form the canonicaliser works with (dates as days
 * since 1970-01-01).
 */
export function columnDomain(column: CatalogueColumn): ColumnDomain {
  const domain: ColumnDomain = { nullable: column.nullable !== false };
  if (column.bounds && column.type !== "VARCHAR" && column.type !== "DATE") {
    domain.min = column.bounds.min;
    domain.max = column.bounds.max;
  }
  if (column.dateRange && column.type === "DATE") {
    domain.min = isoDays(column.dateRange.min);
    domain.max = isoDays(column.dateRange.max);
  }
  if (column.values && column.type === "VARCHAR") domain.values = column.values;
  return domain;
}

const isoDays = (text: string) => Date.parse(`${text}T00:00:00Z`) / 86_400_000;

/** One check of a declaration against the data: the SQL counts the violating rows. */
export interface DomainCheck {
  table: string;
  column: string;
  /** What the steward is told when it fails: names and declarations only, never a value. */
  problem: string;
  sql: string;
  params: unknown[];
}

/**
 * The checks that make the declared domains true of the data: no NULL where nullable is
 * false, every text value in its value set, every date within its range. Numeric bounds are
 * not checked: values outside them are winsorised. Identifiers come from the validated
 * manifest (lower snake case), values are bound.
 */
export function domainChecks(catalogue: DatasetCatalogue): DomainCheck[] {
  const checks: DomainCheck[] = [];
  for (const table of catalogue.tables) {
    const source = `dataset_${table.name}`;
    for (const column of table.columns) {
      const where = (condition: string) => `SELECT count(*) FROM ${source} WHERE ${condition}`;
      const at = { table: table.name, column: column.name };
      if (column.nullable === false) {
        checks.push({
          ...at,
          problem: "holds NULL values but is declared not nullable",
          sql: where(`${column.name} IS NULL`),
          params: [],
        });
      }
      if (column.values && column.type === "VARCHAR") {
        checks.push({
          ...at,
          problem: "holds values outside its declared value set",
          sql: where(
            `${column.name} IS NOT NULL AND ${column.name} NOT IN (SELECT unnest($1::VARCHAR[]))`,
          ),
          params: [column.values],
        });
      }
      if (column.dateRange && column.type === "DATE") {
        checks.push({
          ...at,
          problem: "holds dates outside its declared date range",
          sql: where(`${column.name} < $1::DATE OR ${column.name} > $2::DATE`),
          params: [column.dateRange.min, column.dateRange.max],
        });
      }
    }
  }
  return checks;
}

/**
 * Runs the domain checks through `count` (one violating-row count per check) and refuses the
 * dataset on the first violation. The message names the column and the declaration only.
 */
export async function verifyDeclaredDomains(
  catalogue: DatasetCatalogue,
  count: (checks: DomainCheck[]) => Promise<number[]>,
): Promise<void> {
  const checks = domainChecks(catalogue);
  if (checks.length === 0) return;
  const counts = await count(checks);
  checks.forEach((check, i) => {
    if ((counts[i] ?? 1) !== 0) {
      throw new DatasetOpenError(`column ${check.table}.${check.column} ${check.problem}`);
    }
  });
}

const sqlString = (value: string) => `'${value.replaceAll("'", "''")}'`;
const sqlNumber = (value: number) => {
  if (!Number.isFinite(value)) throw new DatasetOpenError("a declared bound is not finite");
  return String(value);
};

/**
 * The `REPLACE (...)` clause that clamps each value into its code's declared bounds as the
 * sandbox loads a table (empty: nothing declared per code). The code of a row is its
 * `VOCABULARY:CODE` (the coded table's *_vocabulary and *_code); a code without declared
 * bounds keeps its value, which the column's bounds then clamp as always. Names come from the
 * validated manifest (lower snake case), values are quoted literals; a CASE keeps row order.
 */
export function codeBoundsClause(table: CatalogueTable): string {
  const prefix = (CODED_TABLES as Partial<Record<string, string>>)[table.name];
  const names = new Set(table.columns.map((c) => c.name));
  if (!prefix || !names.has(`${prefix}_vocabulary`) || !names.has(`${prefix}_code`)) return "";
  const replaced = table.columns.flatMap((column) => {
    if (!column.codeBounds?.length) return [];
    const cases = column.codeBounds.map(
      (range) =>
        `WHEN ${sqlString(range.code)} THEN least(greatest(${column.name}, ${sqlNumber(range.min)}), ${sqlNumber(range.max)})`,
    );
    return [
      `CASE ${prefix}_vocabulary || ':' || ${prefix}_code ${cases.join(" ")} ELSE ${column.name} END AS ${column.name}`,
    ];
  });
  return replaced.length > 0 ? `REPLACE (${replaced.join(", ")})` : "";
}

/** The catalogue without file locations: safe to send to a researcher's SQL editor. */
export function publicCatalogue(catalogue: DatasetCatalogue) {
  return {
    contentHash: catalogue.contentHash,
    schemaVersion: catalogue.schemaVersion,
    title: catalogue.title,
    referenceYear: catalogue.referenceYear,
    tables: catalogue.tables.map((t) => ({ name: t.name, columns: t.columns })),
  };
}
