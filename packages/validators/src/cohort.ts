import { z } from "zod";
import { KNOWN_VOCABULARIES } from "./omop-lite";

/**
 * A cohort definition as the web's cohort builder produces it. The compute engine compiles it
 * to SQL that goes through the same validation as hand-written SQL, so nothing here can ask
 * for more than a researcher could ask for directly.
 */

const isoDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "an ISO date YYYY-MM-DD")
  .refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)), "not a calendar date");

/**
 * A source code, optionally with its vocabulary, spelled as everywhere else (VOCABULARY:CODE,
 * the OMOP vocabulary_id and concept_code: ICD10:E11.9, ATC:A10BA02); a trailing `*` means
 * "every code starting with this prefix" (ICD10:E11*).
 */
export const conceptCodeSchema = z
  .string()
  .regex(
    /^(?:[A-Za-z0-9][A-Za-z0-9 ]{1,19}:)?[A-Za-z0-9.-]{1,20}\*?$/,
    "an optional vocabulary and ':', then letters, digits, '.', '-' and an optional trailing '*'",
  )
  .refine(
    (code) => {
      const vocabulary = codeVocabulary(code);
      return (
        vocabulary === undefined || (KNOWN_VOCABULARIES as readonly string[]).includes(vocabulary)
      );
    },
    `the vocabulary must be an OMOP vocabulary_id as OMOP spells it (${KNOWN_VOCABULARIES.join(", ")})`,
  );

/** The vocabulary part of a code ("ICD10" of "ICD10:E11*"), if it has one. */
export function codeVocabulary(code: string): string | undefined {
  const colon = code.indexOf(":");
  return colon < 0 ? undefined : code.slice(0, colon);
}

/** An OMOP concept id, with or without the concepts below it in the dataset's hierarchy. */
export const conceptRefSchema = z.object({
  id: z.number().int().positive().max(2_147_483_647),
  descendants: z.boolean().default(true),
});

export const dateWindowSchema = z
  .object({ from: isoDateSchema.optional(), to: isoDateSchema.optional() })
  .refine((w) => !w.from || !w.to || w.from <= w.to, "the window ends before it starts");

export const cohortDomainSchema = z.enum(["condition", "drug", "measurement"]);
export type CohortDomain = z.infer<typeof cohortDomainSchema>;

/**
 * "Has at least one record in this domain with one of these codes or concepts (in this
 * window)". Codes of one criterion share one vocabulary (or name none).
 */
export const conceptCriterionSchema = z
  .object({
    domain: cohortDomainSchema,
    codes: z
      .array(conceptCodeSchema)
      .max(200)
      .default([])
      .refine(
        (codes) => new Set(codes.map(codeVocabulary)).size <= 1,
        "the codes of one criterion share one vocabulary",
      ),
    /** Concept ids (omop-lite/2 datasets), by default with their descendants. */
    concepts: z.array(conceptRefSchema).max(100).default([]),
    window: dateWindowSchema.optional(),
    /** Measurement criteria only: the value must fall in this range. */
    valueRange: z
      .object({ min: z.number().optional(), max: z.number().optional() })
      .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, "min > max")
      .optional(),
  })
  .refine((c) => c.codes.length > 0 !== c.concepts.length > 0, {
    // Codes and concept ids are different columns; two criteria can still combine them.
    message: "a criterion has codes or concepts (one of them, not both)",
    path: ["codes"],
  });
export type ConceptCriterion = z.infer<typeof conceptCriterionSchema>;

export const cohortGroupBySchema = z.enum(["sex", "age_band", "region"]);

export const cohortDefinitionSchema = z
  .object({
    inclusion: z.array(conceptCriterionSchema).max(10).default([]),
    exclusion: z.array(conceptCriterionSchema).max(10).default([]),
    /** Age in whole years at the dataset's reference year (the year it was created). */
    age: z
      .object({
        min: z.number().int().min(0).max(130).optional(),
        max: z.number().int().min(0).max(130).optional(),
      })
      .refine((a) => a.min === undefined || a.max === undefined || a.min <= a.max, "min > max")
      .optional(),
    sex: z
      .array(z.enum(["F", "M"]))
      .min(1)
      .optional(),
    regions: z.array(z.string().min(1).max(64)).min(1).max(50).optional(),
    output: z
      .object({
        groupBy: z.array(cohortGroupBySchema).max(3).default([]),
        ageBandWidth: z.union([z.literal(5), z.literal(10), z.literal(20)]).default(10),
      })
      .default({ groupBy: [], ageBandWidth: 10 }),
  })
  .refine((c) => c.output.groupBy.length === new Set(c.output.groupBy).size, {
    message: "each groupBy dimension at most once",
    path: ["output", "groupBy"],
  });
export type CohortDefinition = z.infer<typeof cohortDefinitionSchema>;
export type CohortDefinitionInput = z.input<typeof cohortDefinitionSchema>;
