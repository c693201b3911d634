import { z } from "zod";
import { datasetIdSchema } from "./catalogue";

/** Inputs of the API's `consent` router. */

export const consentTypedDataInputSchema = z.object({
  datasetId: datasetIdSchema,
  granted: z.boolean(),
});

const uint64String = z
  .union([
    z.bigint(),
    z.number().int(),
    z.string().regex(/^\d{1,20}$/, "must be a decimal integer"),
  ])
  .transform((value, ctx) => {
    const n = BigInt(value);
    if (n < 0n || n > 18_446_744_073_709_551_615n) {
      ctx.addIssue({ code: "custom", message: "must be a uint64" });
      return z.NEVER;
    }
    return n;
  });

/** A signed EIP-712 Consent message, as the wallet signed it (from `consent.typedData`). */
export const consentRelayInputSchema = z.object({
  datasetId: datasetIdSchema,
  granted: z.boolean(),
  nonce: uint64String,
  /** Unix seconds. */
  deadline: uint64String,
  signature: z
    .string()
    .regex(/^0x[0-9a-fA-F]+$/, "must be a 0x-prefixed hex signature")
    .max(4_000, "is too long"),
});
export type ConsentRelayInput = z.input<typeof consentRelayInputSchema>;
