import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  type ColumnSpec,
  type DatasetManifest,
  datasetManifestSchema,
  type OmopTableName,
} from "@opencohort/validators";
import { computeContentHash } from "@opencohort/validators/content-hash";

export type ColumnType = ColumnSpec["type"];

export interface CatalogueColumn {
  name: string;
  type: ColumnType;
  description?: string;
  /** Declared bounds; sum and avg clamp into them. Absent -> the column cannot be summed. */
  bounds?: { min: number; max: number };
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
    const actual = await computeContentHash(absoluteDir, manifest.tables);
    if (actual !== manifest.contentHash) {
      throw new DatasetOpenError("content hash does not match the Parquet files");
    }
  }
  return {
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
      })),
    })),
  };
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
