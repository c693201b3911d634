import { z } from "zod";
import {
  checkDistinctConditions,
  conditionCodeSchema,
  datasetIdSchema,
  datasetMetadataFields,
} from "./catalogue";
import { addressSchema } from "./dataset";

/** Inputs of the API's `steward` router. */

/**
 * A dataset folder, named relative to the API host's dataset root (OPENCOHORT_DATASET_ROOT):
 * plain path segments only, so no input can name a file outside that root.
 */
export const datasetFolderSchema = z
  .string()
  .min(1, "is required")
  .max(512, "is too long")
  .regex(
    /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/,
    "must be a folder inside the dataset root, such as northbridge/v2 (letters, digits, . _ - and /; no leading / or ..)",
  );

export const datasetFolderInputSchema = z.object({
  folder: datasetFolderSchema,
  /**
   * Condition codes the steward means to declare (VOCABULARY:CODE): checked against the
   * folder's shipped vocabulary and named from it, before anything goes on chain.
   */
  conditions: z.array(conditionCodeSchema).max(100, "at most 100 conditions").optional(),
});

export const registerVersionInputSchema = z.object({
  datasetId: datasetIdSchema,
  /** On-chain version number (1 at listing). */
  version: z.number().int().min(1).max(4_294_967_295),
  /** The dataset folder (manifest.json + Parquet files) inside the dataset root. */
  folder: datasetFolderSchema,
});
export type RegisterVersionInput = z.input<typeof registerVersionInputSchema>;

/** The metadata document whose canonical hash must equal the dataset's on-chain metadataHash. */
export const updateMetadataInputSchema = datasetMetadataFields
  .extend({ datasetId: datasetIdSchema })
  .superRefine(checkDistinctConditions);
export type UpdateMetadataInput = z.input<typeof updateMetadataInputSchema>;

/** An OMOP person_id: a positive 64-bit integer, as a bigint, a safe number or a decimal string. */
export const personIdSchema = z
  .union([
    z.bigint().positive(),
    z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    z.string().regex(/^[1-9]\d{0,18}$/, "must be a person id"),
  ])
  .transform((value, ctx) => {
    const id = BigInt(value);
    if (id > 9_223_372_036_854_775_807n) {
      ctx.addIssue({ code: "custom", message: "must fit in 64 bits" });
      return z.NEVER;
    }
    return id;
  });

/** At most this many enrolments per call (import a large list in several calls). */
export const MAX_ENROLMENTS_PER_IMPORT = 5_000;

export const importEnrolmentsInputSchema = z
  .object({
    datasetId: datasetIdSchema,
    /**
     * What the address column holds: the patient's wallet (they bind their consent identity
     * when they first sign in) or the consent identity itself (the patient gave it to the
     * steward; their wallet is learnt when they bind).
     */
    addressKind: z.enum(["wallet", "identity"]).default("wallet"),
    entries: z
      .array(z.object({ personId: personIdSchema, patientAddress: addressSchema }))
      .min(1, "is empty")
      .max(MAX_ENROLMENTS_PER_IMPORT, `at most ${MAX_ENROLMENTS_PER_IMPORT} entries per call`),
  })
  .superRefine((input, ctx) => {
    const persons = new Set<bigint>();
    const patients = new Set<string>();
    input.entries.forEach((entry, index) => {
      if (persons.has(entry.personId)) {
        ctx.addIssue({
          code: "custom",
          path: ["entries", index, "personId"],
          message: "is listed twice",
        });
      }
      const address = entry.patientAddress.toLowerCase();
      if (patients.has(address)) {
        ctx.addIssue({
          code: "custom",
          path: ["entries", index, "patientAddress"],
          message: "is listed twice (one person per patient in a dataset)",
        });
      }
      persons.add(entry.personId);
      patients.add(address);
    });
  });
export type ImportEnrolmentsInput = z.input<typeof importEnrolmentsInputSchema>;

/**
 * An import from the import root (OPENCOHORT_IMPORT_ROOT) into a new dataset folder in the
 * dataset root: the same importers as `opencohort-dataset import omop|fhir`.
 */
export const startImportInputSchema = z.object({
  format: z.enum(["omop", "fhir"]),
  /** The export's folder (OMOP CDM CSVs, or FHIR Bulk NDJSON), inside the import root. */
  source: datasetFolderSchema,
  /** FHIR only: an OMOP vocabulary folder (concept, concept_ancestor) inside the import root. */
  vocabulary: datasetFolderSchema.optional(),
  /** The new dataset folder, inside the dataset root; it must not exist. */
  folder: datasetFolderSchema,
  title: z.string().trim().min(1, "is required").max(200, "is too long"),
  /** Drop rows about persons missing from the person table (reported) instead of failing. */
  skipOrphans: z.boolean().default(false),
});
export type StartImportInput = z.input<typeof startImportInputSchema>;

export const importStatusInputSchema = z.object({ jobId: z.uuid() });
