import { z } from "zod";

/** Hex strings as they appear on chain and in hashes. */
export const hex32Schema = z
  .string()
  .regex(/^0x[0-9a-f]{64}$/, "must be 0x followed by 64 lowercase hex characters");
export const addressSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x-prefixed 20-byte address");

/** The OMOP-like tables a dataset version may contain (every one keyed by person_id). */
export const omopTableNames = [
  "person",
  "condition_occurrence",
  "drug_exposure",
  "measurement",
  "visit_occurrence",
  "procedure_occurrence",
  "observation",
  "observation_period",
  "death",
] as const;
export const omopTableNameSchema = z.enum(omopTableNames);
export type OmopTableName = z.infer<typeof omopTableNameSchema>;

export const columnTypeSchema = z.enum(["BIGINT", "INTEGER", "DOUBLE", "VARCHAR", "DATE"]);

/** Limits of a declared value set: it is public (shown to researchers) and kept in memory. */
export const MAX_DECLARED_VALUES = 20_000;
export const MAX_DECLARED_VALUE_LENGTH = 200;

const isoDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "dates are written YYYY-MM-DD")
  .refine((text) => {
    const ms = Date.parse(`${text}T00:00:00Z`);
    return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === text;
  }, "not a calendar date");

const numericTypes = new Set(["BIGINT", "INTEGER", "DOUBLE"]);

/**
 * A column and its declared, public domain. Declarations come from the steward's vocabulary
 * and design, never from the data (a value set measured from the data would publish that a
 * rare code occurs; a bound measured from the data, the most extreme person).
 * - `bounds` (numeric): values outside are treated as the nearest bound everywhere
 *   (winsorised): sums clamp, filters and groups see the clamped value. Not verified.
 * - `values` (VARCHAR): the declared value set, sorted and unique; verified at open.
 * - `dateRange` (DATE): every date lies within [min, max]; verified at open.
 * - `nullable` (default true): false declares that the column holds no NULL; verified.
 * - `codeBounds` (numeric, with `bounds`): declared bounds per code of a coded table's value
 *   (measurement.value_as_number by VOCABULARY:CODE of the row, e.g. LOINC:4548-4), each
 *   within the column's bounds: compute clamps a value of that code into its range when it
 *   opens the dataset. Declared for a list of codes fixed before the data is read (the
 *   steward's config and documented defaults), never for the codes that happen to occur.
 */
export const columnSchema = z
  .object({
    name: z.string().regex(/^[a-z_][a-z0-9_]*$/, "column names are lower snake case"),
    type: columnTypeSchema,
    description: z.string().optional(),
    /** Declared bounds of a numeric column: aggregates clamp values into this range. */
    bounds: z.object({ min: z.number(), max: z.number() }).optional(),
    values: z
      .array(z.string().min(1).max(MAX_DECLARED_VALUE_LENGTH))
      .min(1)
      .max(MAX_DECLARED_VALUES)
      .optional(),
    nullable: z.boolean().optional(),
    dateRange: z.object({ min: isoDateSchema, max: isoDateSchema }).optional(),
    codeBounds: z
      .array(
        z.object({
          code: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*:[^\s']{1,50}$/, "VOCABULARY:CODE"),
          min: z.number(),
          max: z.number(),
          unit: z.string().max(40).optional(),
        }),
      )
      .max(MAX_DECLARED_VALUES)
      .optional(),
  })
  .superRefine((column, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: "custom", path: [path], message });
    if (column.bounds) {
      if (!numericTypes.has(column.type)) issue("bounds", "bounds apply to numeric columns only");
      const { min, max } = column.bounds;
      if (!Number.isFinite(min) || !Number.isFinite(max) || min > max)
        issue("bounds", "bounds need finite min <= max");
      else if (column.type !== "DOUBLE" && !(Number.isInteger(min) && Number.isInteger(max)))
        issue("bounds", "bounds of an integer column are integers");
    }
    if (column.values) {
      if (column.type !== "VARCHAR") issue("values", "value sets apply to VARCHAR columns only");
      for (let i = 1; i < column.values.length; i++) {
        if (!((column.values[i - 1] as string) < (column.values[i] as string))) {
          issue("values", "values must be sorted and unique");
          break;
        }
      }
    }
    if (column.codeBounds) {
      const { bounds } = column;
      if (!bounds) issue("codeBounds", "codeBounds need the column's bounds");
      column.codeBounds.forEach((range, i) => {
        if (!Number.isFinite(range.min) || !Number.isFinite(range.max) || range.min > range.max)
          issue("codeBounds", `${range.code}: needs finite min <= max`);
        else if (bounds && (range.min < bounds.min || range.max > bounds.max))
          issue("codeBounds", `${range.code}: lies outside the column's bounds`);
        const previous = column.codeBounds?.[i - 1];
        if (previous && !(previous.code < range.code))
          issue("codeBounds", "codes must be sorted and unique");
      });
    }
    if (column.dateRange) {
      if (column.type !== "DATE") issue("dateRange", "dateRange applies to DATE columns only");
      if (column.dateRange.min > column.dateRange.max)
        issue("dateRange", "dateRange needs min <= max");
    }
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
 * The vocabulary a dataset version ships (schema omop-lite/2): the concepts its events use
 * and their ancestors. Public reference data, not about persons: no person_id.
 */
export const vocabularyTableNames = ["concept", "concept_ancestor"] as const;
export const vocabularyTableNameSchema = z.enum(vocabularyTableNames);
export type VocabularyTableName = z.infer<typeof vocabularyTableNameSchema>;

export const vocabularyTableSchema = tableSchema.extend({ name: vocabularyTableNameSchema });
export type VocabularyTableSpec = z.infer<typeof vocabularyTableSchema>;

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
  /** The shipped vocabulary subset (omop-lite/2); hashed with the tables. */
  vocabulary: z.array(vocabularyTableSchema).optional(),
  contentHash: hex32Schema,
  createdAt: z.string().datetime(),
  generator: z.object({ name: z.string(), seed: z.number().int(), version: z.string() }).optional(),
});
export type DatasetManifest = z.infer<typeof datasetManifestSchema>;

/** Every file the content hash covers: the person tables and the shipped vocabulary. */
export function hashedFiles(manifest: Pick<DatasetManifest, "tables" | "vocabulary">) {
  return [...manifest.tables, ...(manifest.vocabulary ?? [])].map(({ name, file }) => ({
    name,
    file,
  }));
}
