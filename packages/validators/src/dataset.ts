import { z } from "zod";

/** Hex strings as they appear on chain and in hashes. */
export const hex32Schema = z
  .string()
  .regex(/^0x[0-9a-f]{64}$/, "must be 0x followed by 64 lowercase hex characters");
export const addressSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte address");

/** The OMOP-like tables a dataset version may contain. */
export const omopTableNames = [
  "person",
  "condition_occurrence",
  "drug_exposure",
  "measurement",
  "visit_occurrence",
] as const;
export const omopTableNameSchema = z.enum(omopTableNames);
export type OmopTableName = z.infer<typeof omopTableNameSchema>;

export const columnTypeSchema = z.enum(["BIGINT", "INTEGER", "DOUBLE", "VARCHAR", "DATE"]);

export const columnSchema = z.object({
  name: z.string().regex(/^[a-z_][a-z0-9_]*$/, "column names are lower snake case"),
  type: columnTypeSchema,
  description: z.string().optional(),
  /** Declared bounds of a numeric column: aggregates clamp values into this range. */
  bounds: z.object({ min: z.number(), max: z.number() }).optional(),
});
export type ColumnSpec = z.infer<typeof columnSchema>;

export const tableSchema = z.object({
  name: omopTableNameSchema,
  /** Parquet file name, relative to the dataset folder. */
  file: z.string().regex(/^[a-z_]+\.parquet$/, "a bare .parquet file name"),
  rowCount: z.number().int().nonnegative(),
  columns: z.array(columnSchema).min(1),
});
export type TableSpec = z.infer<typeof tableSchema>;

/**
 * manifest.json of a dataset version folder. `contentHash` is the sha256 over the Parquet
 * files (name and bytes, in table-name order); it is what the chain and receipts refer to.
 */
export const datasetManifestSchema = z.object({
  format: z.literal("opencohort-dataset/1"),
  /** Schema version label, e.g. "omop-lite/1"; its keccak256 is what governance accepts. */
  schemaVersion: z.string().min(1),
  title: z.string().min(1),
  description: z.string(),
  personCount: z.number().int().nonnegative(),
  tables: z.array(tableSchema).min(1),
  contentHash: hex32Schema,
  createdAt: z.string().datetime(),
  generator: z.object({ name: z.string(), seed: z.number().int(), version: z.string() }).optional(),
});
export type DatasetManifest = z.infer<typeof datasetManifestSchema>;
