import { z } from "zod";
import { cohortDefinitionSchema } from "./cohort";
import { hex32Schema } from "./dataset";

/**
 * Inputs of the API's `query` router: submit SQL or a cohort definition against a dataset the
 * researcher holds an access pass for, and read back their own queries.
 */

/** Longest SQL text accepted at the door (compute refuses anything over its own limit too). */
export const MAX_QUERY_SQL_LENGTH = 20_000;

/** Exactly one of `sql` and `cohort`. */
export const querySubmitInputSchema = z
  .object({
    datasetId: hex32Schema,
    sql: z.string().trim().min(1, "must not be empty").max(MAX_QUERY_SQL_LENGTH).optional(),
    cohort: cohortDefinitionSchema.optional(),
    /**
     * false (the default): answer as soon as the query is queued (status PENDING) and let the
     * caller poll its status. true: answer when it is final, or after the API's wait limit
     * (then still PENDING or RUNNING), for scripts that want one call.
     */
    wait: z.boolean().default(false),
  })
  .superRefine((input, ctx) => {
    if ((input.sql === undefined) === (input.cohort === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["sql"],
        message: "give either sql or a cohort definition, not both or neither",
      });
    }
  });
export type QuerySubmitInput = z.input<typeof querySubmitInputSchema>;

/** A query's id (as returned by submit). */
export const queryIdInputSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/, "must be a query id"),
});

export const queryHistoryInputSchema = z
  .object({
    datasetId: hex32Schema.optional(),
    /** The id of the last query of the previous page. */
    cursor: queryIdInputSchema.shape.id.optional(),
    limit: z.number().int().min(1).max(100).default(20),
  })
  .default({ limit: 20 });

export const queryBudgetInputSchema = z.object({ datasetId: hex32Schema });
