import { z } from "zod";
import { hex32Schema } from "./dataset";

/**
 * Shapes shared by the compute engine, the API and the web: the governed disclosure
 * parameters, what a researcher gets back, the receipt, and the public error.
 */

/** Governed by the StandardsRegistry; the engine enforces whatever it is handed. */
export const disclosureParamsSchema = z.object({
  /** Rows with fewer distinct persons are suppressed (CMS small-cell rule: 11). */
  minCellSize: z.number().int().min(2).max(1000),
  /** Counts are rounded to a multiple of this. */
  roundingBase: z.number().int().min(1).max(1000),
  /** Privacy loss charged to the (researcher, dataset) budget per executed query. */
  epsilonPerQuery: z.number().positive().max(10),
  /**
   * The total epsilon of the budget the query is charged to (governed epsilonBudget; the
   * shared feasibility budget for feasibility counts). With it each query gets its share of
   * the budget's zCDP rho (compute's disclosure/accounting.ts): Gaussian noise when that beats
   * Laplace. Absent: the query is accounted as a budget of its own (Laplace).
   */
  epsilonBudget: z.number().positive().max(1000).optional(),
  /**
   * At most this many rows of one person count towards one output row; it bounds the
   * sensitivity of count(*), sum and avg (rows beyond it are down-weighted, not dropped).
   */
  contributionCap: z.number().int().min(1).max(1000).default(10),
});
export type DisclosureParams = z.infer<typeof disclosureParamsSchema>;
export type DisclosureParamsInput = z.input<typeof disclosureParamsSchema>;

/** The noise the released numbers carry (see compute's disclosure/accounting.ts). */
export const noiseMechanismSchema = z.enum(["laplace", "gaussian"]);

export const resultColumnKindSchema = z.enum(["dimension", "count", "persons", "sum", "avg"]);

/**
 * The uncertainty of one released number, from public parameters only (the noise of its
 * component, the rounding base) and the released noisy values: never from an exact value, and
 * it costs no budget.
 * - sd: the standard deviation of the noise added to it (Gaussian: sigma; Laplace: scale *
 *   sqrt(2)); for an average, a delta-method approximation (see `avg` below).
 * - lo, hi: a 95% interval for the value before noise. Counts and sums: value -/+ (t + half
 *   the rounding step) with P(|noise| > t) = 0.05 (Gaussian 1.96 sigma, Laplace b ln 20);
 *   counts never below 0. Averages: the noisy centred sum and noisy count each bounded at
 *   97.5% (Gaussian 2.24 sigma, Laplace b ln 40), the ratio's extremes over that box (95% by the union bound), clipped to the clamp
 *   range; when the noisy count cannot be kept above 0 the interval is the whole clamp range.
 * Released groups are those whose noisy person count passed the threshold, so for groups
 * near the threshold the interval of the person count is optimistic (selection).
 */
export const cellUncertaintySchema = z.object({
  sd: z.number().nonnegative(),
  lo: z.number(),
  hi: z.number(),
});
export type CellUncertainty = z.infer<typeof cellUncertaintySchema>;

export { isUnreliable, UNCERTAINTY_LEVEL } from "./uncertainty";

export const researcherResultSchema = z.object({
  columns: z.array(z.object({ name: z.string(), kind: resultColumnKindSchema })),
  rows: z.array(z.array(z.union([z.string(), z.number(), z.null()]))),
  /**
   * Aligned with rows: per cell its uncertainty, null for dimension columns and for a
   * withheld (null) average. Absent on results stored before it existed.
   */
  uncertainty: z.array(z.array(cellUncertaintySchema.nullable())).optional(),
  epsilonSpent: z.number().nonnegative(),
  /**
   * The query's zero-concentrated DP cost (rho), what composes: 0 for a free identical
   * repeat. Absent on results stored before it existed.
   */
  rho: z.number().nonnegative().optional(),
  /** The noise of the released numbers: Gaussian (zCDP accounting) or Laplace. */
  mechanism: noiseMechanismSchema.optional(),
  /**
   * True: the same question (canonical query, dataset version, consented persons, parameters,
   * researcher) was answered before; this is the same answer and cost nothing.
   */
  repeated: z.boolean().optional(),
  /**
   * The delta of the query's (epsilon, delta) guarantee: the chance that a group standing
   * for one person passes the noisy threshold. 0 without GROUP BY (the one group always
   * exists). How many groups were withheld is not released: that number would be exact.
   */
  delta: z.number().min(0).max(1),
  /**
   * The noisy person count a group needed to be released: k when the candidate groups are
   * public (declared domains), higher when they come from the data (see delta).
   */
  releaseThreshold: z.number().int().positive(),
  budgetRemaining: z.number(),
  /** Hash of the canonical query: rephrasings of one question share it (and its noise). */
  queryHash: hex32Schema,
  referenceId: z.string(),
});
export type ResearcherResult = z.infer<typeof researcherResultSchema>;

/**
 * How far one person can move a query's released numbers; the noise is scaled to it.
 * "person": every GROUP BY dimension is a property of the person, one group each. "event": a
 * person can fall in several groups (GROUP BY condition_code) and is kept in at most
 * maxGroupsPerPerson of them, with every noise scale multiplied by that number.
 */
export const contributionBoundsSchema = z.object({
  level: z.enum(["person", "event"]),
  maxGroupsPerPerson: z.number().int().positive(),
  /** Rows of one person counted towards one group (1 when the rows are persons). */
  maxRowsPerGroup: z.number().int().positive(),
});

export const queryReceiptSchema = z.object({
  version: z.literal(2),
  referenceId: z.string(),
  queryHash: hex32Schema,
  datasetContentHash: hex32Schema,
  /** Block at which the consented person set was taken (decimal string). */
  consentSnapshotBlock: z.string().regex(/^\d+$/),
  params: disclosureParamsSchema,
  contributionBounds: contributionBoundsSchema,
  epsilonSpent: z.number().nonnegative(),
  /** See researcherResultSchema.rho, mechanism and repeated. */
  rho: z.number().nonnegative().optional(),
  mechanism: noiseMechanismSchema.optional(),
  repeated: z.boolean().optional(),
  /** See researcherResultSchema.delta and releaseThreshold. */
  delta: z.number().min(0).max(1),
  releaseThreshold: z.number().int().positive(),
  resultHash: hex32Schema,
  personsIncluded: z.number().int().nonnegative(),
  executedAt: z.string().datetime(),
});
export type QueryReceipt = z.infer<typeof queryReceiptSchema>;

export const queryErrorCodeSchema = z.enum([
  "rejected",
  "budget-exhausted",
  "limit-exceeded",
  "query-failed",
]);

/** What a researcher sees when a query does not run. Never carries a data value. */
export const queryErrorSchema = z.object({
  code: queryErrorCodeSchema,
  /** Stable id of the validation rule broken (code "rejected" only). */
  rule: z.string().optional(),
  message: z.string(),
  referenceId: z.string(),
  budgetRemaining: z.number().optional(),
  /**
   * Where in the researcher's SQL the rule applies (1-based line and column, 0-based character
   * offset), when the parser or the rule knows it; the message then ends "(at line L, column
   * C)". A place in the researcher's own text, never a data value.
   */
  position: z
    .object({
      line: z.number().int().positive(),
      column: z.number().int().positive(),
      offset: z.number().int().nonnegative(),
    })
    .optional(),
});
export type QueryError = z.infer<typeof queryErrorSchema>;
