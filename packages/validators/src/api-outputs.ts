import { z } from "zod";
import { conditionCodeSchema } from "./catalogue";
import { hex32Schema } from "./dataset";
import { noiseMechanismSchema, researcherResultSchema } from "./query";

/**
 * What the HTTP API (`/api/v1`, documented at `/api/openapi.json`) answers, as JSON: dates
 * are ISO strings and 64-bit integers decimal strings. The API's tests parse real answers
 * with these, so the document cannot drift from the procedures. Nested objects that other
 * work extends (results) are open: new fields are allowed.
 */

const isoDate = z.iso.datetime({ offset: true });
const blockNumber = z.string().regex(/^\d+$/).describe("a block number (decimal string)");

export const datasetCardOutputSchema = z.looseObject({
  id: hex32Schema,
  title: z.string(),
  description: z.string(),
  steward: z.string(),
  price: z.string().describe("price of one access pass in token base units"),
  priceFormatted: z.string().describe("the same in whole tokens"),
  accessDurationSeconds: z.number().int(),
  persons: z
    .number()
    .int()
    .nullable()
    .describe("persons in the latest version (from its manifest)"),
  consented: z.number().int().describe("patients whose consent is granted on chain (public)"),
  conditions: z.array(z.object({ code: conditionCodeSchema.or(z.string()), label: z.string() })),
  latestVersion: z.number().int(),
  schemaVersion: z.string().nullable(),
  schemaVersionHash: z.string().nullable(),
  listed: z.boolean(),
});

export const datasetListOutputSchema = z.object({
  items: z.array(datasetCardOutputSchema),
  total: z.number().int(),
  nextCursor: z.string().nullable(),
  page: z.number().int(),
  pageCount: z.number().int(),
});

export const datasetDetailOutputSchema = datasetCardOutputSchema.extend({
  metadataHash: z.string(),
  delistedByGovernance: z.boolean(),
  versions: z.array(z.looseObject({ version: z.number().int(), registered: z.boolean() })),
  dataCard: z
    .looseObject({
      version: z.number().int(),
      contentHash: z.string(),
      tables: z.array(
        z.looseObject({
          name: z.string(),
          columns: z.array(z.looseObject({ name: z.string(), type: z.string() })),
        }),
      ),
    })
    .nullable(),
  privacy: z.looseObject({
    minCellSize: z.number(),
    roundingBase: z.number(),
    epsilonPerQuery: z.number(),
    epsilonBudget: z.number(),
  }),
});

export const conceptPageOutputSchema = z.object({
  shipped: z.boolean().describe("false until files with a vocabulary (omop-lite/2) are registered"),
  concepts: z.array(
    z.object({
      conceptId: z.number().int(),
      name: z.string(),
      vocabulary: z.string().describe("OMOP vocabulary_id, e.g. SNOMED"),
      code: z.string().describe("concept_code; VOCABULARY:CODE is how codes are written"),
      domain: z.string(),
    }),
  ),
  nextOffset: z.number().int().nullable().describe("pass as offset for the next page"),
});

export const feasibilityOutputSchema = z.looseObject({
  columns: z.array(z.looseObject({ name: z.string() })),
  rows: z.array(z.array(z.union([z.string(), z.number(), z.null()]))),
  epsilonSpent: z.number(),
  budgetRemaining: z.number(),
  queryHash: z.string(),
  referenceId: z.string(),
});

export const queryStatusSchema = z.enum(["PENDING", "RUNNING", "SUCCEEDED", "REJECTED", "FAILED"]);
const queryRefusalSchema = z
  .object({ rule: z.string().describe("the rule id that refused the query"), message: z.string() })
  .nullable();

export const queryReceiptViewSchema = z
  .looseObject({
    version: z.number().int(),
    receiptHash: z.string(),
    chainId: z.number().int(),
    queryId: z.string(),
    researcher: z.string(),
    queryHash: z.string().nullable(),
    datasetId: z.string(),
    datasetVersion: z.number().int(),
    datasetVersionHash: z.string().nullable(),
    consentSnapshotBlock: blockNumber.nullable(),
    resultHash: z.string().nullable(),
    epsilonSpent: z.number().nullable(),
    epoch: z.number().int().nullable(),
  })
  .nullable();

export const queryViewOutputSchema = z.object({
  id: z.string(),
  datasetId: z.string(),
  datasetVersion: z.number().int(),
  kind: z.enum(["SQL", "COHORT"]),
  sql: z.string().nullable(),
  cohort: z.unknown(),
  status: queryStatusSchema,
  /** Disclosure-controlled aggregates (compute's researcher result; open to new fields). */
  result: researcherResultSchema.loose().nullable(),
  error: queryRefusalSchema,
  epsilonSpent: z.number().nullable(),
  receipt: queryReceiptViewSchema,
  createdAt: isoDate,
  startedAt: isoDate.nullable(),
  finishedAt: isoDate.nullable(),
});

export const queryStatusOutputSchema = z.object({
  id: z.string(),
  status: queryStatusSchema,
  error: queryRefusalSchema,
  createdAt: isoDate,
  startedAt: isoDate.nullable(),
  finishedAt: isoDate.nullable(),
});

export const queryReceiptOutputSchema = z.object({
  id: z.string(),
  status: queryStatusSchema,
  receipt: queryReceiptViewSchema,
});

export const queryHistoryOutputSchema = z.object({
  items: z.array(
    queryViewOutputSchema.omit({ result: true, receipt: true }).extend({
      receiptHash: z.string().nullable(),
    }),
  ),
  nextCursor: z.string().nullable(),
});

export const queryBudgetOutputSchema = z.object({
  datasetId: z.string(),
  total: z.number(),
  spent: z.number(),
  deltaSpent: z.number(),
  remaining: z.number(),
  epsilonPerQuery: z.number(),
  queriesLeft: z.number().int(),
  /**
   * The same budget in zero-concentrated DP (compute's disclosure/accounting.ts): the total
   * rho the governed (total, conversionDelta) converts to, the rho spent and one query's rho.
   * The guarantee after everything spent so far is (epsilonFromRho(spent), conversionDelta +
   * deltaSpent)-DP.
   */
  rho: z.object({ total: z.number(), spent: z.number(), perQuery: z.number() }),
  /** The delta of the budget's conversion (0 with Laplace noise: epsilons add). */
  conversionDelta: z.number(),
  mechanism: noiseMechanismSchema,
});

export const meOutputSchema = z
  .object({
    address: z.string(),
    roles: z.object({ researcher: z.boolean(), patient: z.boolean(), steward: z.boolean() }),
  })
  .nullable();

/** Every error of the HTTP API. `rule` is the same id the web app shows. */
export const apiErrorOutputSchema = z.object({
  error: z.object({
    code: z.string().describe("tRPC error code, e.g. BAD_REQUEST, UNAUTHORIZED, FORBIDDEN"),
    message: z.string(),
    rule: z.string().optional().describe("the rule that refused (token-scope, access-pass, ...)"),
    field: z.string().optional().describe("the first offending input field"),
  }),
});
