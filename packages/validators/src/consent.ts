import { z } from "zod";
import { datasetIdSchema } from "./catalogue";
import { addressSchema } from "./dataset";
import { queryIdInputSchema } from "./query-input";

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

const signatureSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]+$/, "must be a 0x-prefixed hex signature")
  .max(4_000, "is too long");

/**
 * A signed EIP-712 Consent message, as the patient's consent identity signed it (from
 * `consent.typedData`).
 */
export const consentRelayInputSchema = z.object({
  datasetId: datasetIdSchema,
  granted: z.boolean(),
  nonce: uint64String,
  /** Unix seconds. */
  deadline: uint64String,
  signature: signatureSchema,
});

/**
 * A consent identity's signed statement (EIP-712 `BindIdentity`) that it is the signed-in
 * wallet's identity for the dataset; binds it to the steward's enrolment.
 */
export const bindIdentityInputSchema = z.object({
  datasetId: datasetIdSchema,
  identity: addressSchema,
  signature: signatureSchema,
});
export type BindIdentityInput = z.input<typeof bindIdentityInputSchema>;

/**
 * A consent identity's signed instruction (EIP-712 `PayoutAddress`) to pay its rewards to
 * `payout`; kept off chain.
 */
export const payoutRegistrationInputSchema = z.object({
  datasetId: datasetIdSchema,
  identity: addressSchema,
  payout: addressSchema,
  /** Unix seconds the identity signed. */
  issuedAt: uint64String,
  signature: signatureSchema,
});
export type PayoutRegistrationInput = z.input<typeof payoutRegistrationInputSchema>;
export type ConsentRelayInput = z.input<typeof consentRelayInputSchema>;

/** A page of "who used my data" (consent.whoUsedMyData), newest first. */
export const whoUsedMyDataInputSchema = z
  .object({
    /** `nextCursor` of the previous page (the id of its last query). */
    cursor: queryIdInputSchema.shape.id.optional(),
    limit: z.number().int().min(1).max(100).default(50),
  })
  .default({ limit: 50 });
