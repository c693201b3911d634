import { z } from "zod";
import { addressSchema } from "./dataset";

/**
 * Inputs of the API's `governance` router. The bounds of a standards change are the
 * StandardsRegistry's own (contracts/src/StandardsRegistry.sol), so a proposal built here
 * cannot fail at execution for an out-of-range value.
 */

/** StandardsRegistry.MIN_CELL_SIZE_FLOOR / MIN_CELL_SIZE_CEILING. */
export const MIN_CELL_SIZE_FLOOR = 2;
export const MIN_CELL_SIZE_CEILING = 10_000;
/** StandardsRegistry.MAX_ROUNDING_BASE. */
export const MAX_ROUNDING_BASE = 1_000;
/** StandardsRegistry.MAX_CONTRIBUTION_CAP. */
export const MAX_CONTRIBUTION_CAP = 1_000;
/** StandardsRegistry.MAX_EPSILON_BUDGET / EPSILON_SCALE. */
export const MAX_EPSILON_BUDGET = 100;
/** StandardsRegistry.BPS. */
export const BPS = 10_000;

/** An epsilon: a decimal with at most 18 fractional digits (the registry's fixed point). */
export const epsilonValueSchema = z
  .union([
    z.number().finite(),
    z.string().regex(/^\d+(\.\d{1,18})?$/, "must be a decimal number with at most 18 decimals"),
  ])
  .transform((value, ctx) => {
    const text = typeof value === "number" ? String(value) : value;
    if (!/^\d+(\.\d{1,18})?$/.test(text)) {
      ctx.addIssue({
        code: "custom",
        message: "must be a decimal number with at most 18 decimals",
      });
      return z.NEVER;
    }
    return text;
  })
  .refine((text) => Number(text) > 0, "must be greater than 0")
  .refine((text) => Number(text) <= MAX_EPSILON_BUDGET, `must be at most ${MAX_EPSILON_BUDGET}`);

const bpsSchema = z.number().int().min(0).max(BPS);

/** A ResearcherCredential id (they count from 1). */
export const credentialIdSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** What a proposal changes: a StandardsRegistry value, or steward membership (StewardBadge). */
export const proposalChangeSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("minCellSize"),
    value: z.number().int().min(MIN_CELL_SIZE_FLOOR).max(MIN_CELL_SIZE_CEILING),
  }),
  z.object({
    kind: z.literal("roundingBase"),
    value: z.number().int().min(1).max(MAX_ROUNDING_BASE),
  }),
  /** Rows one person may contribute to one released cell (the noise scales with it). */
  z.object({
    kind: z.literal("contributionCap"),
    value: z.number().int().min(1).max(MAX_CONTRIBUTION_CAP),
  }),
  z
    .object({
      kind: z.literal("epsilon"),
      perQuery: epsilonValueSchema,
      budget: epsilonValueSchema,
    })
    .refine((change) => Number(change.perQuery) <= Number(change.budget), {
      message: "the epsilon per query must not exceed the budget",
      path: ["perQuery"],
    }),
  z
    .object({
      kind: z.literal("feeSplit"),
      patientsBps: bpsSchema,
      stewardBps: bpsSchema,
      treasuryBps: bpsSchema,
    })
    .refine((change) => change.patientsBps + change.stewardBps + change.treasuryBps === BPS, {
      message: `the three shares must sum to ${BPS} bps`,
      path: ["patientsBps"],
    }),
  z.object({
    kind: z.literal("schemaVersion"),
    /** The schema label, e.g. "omop-lite/2"; the registry keys it by keccak256(label). */
    label: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces"),
    accepted: z.boolean(),
  }),
  /** Mints a StewardBadge: the address becomes a steward with one vote. */
  z.object({ kind: z.literal("admitSteward"), steward: addressSchema }),
  /** Burns the address's StewardBadge, and its vote with it. */
  z.object({ kind: z.literal("removeSteward"), steward: addressSchema }),
  /**
   * Issues a ResearcherCredential to the address ("safe people"); `reference` names the
   * accrediting body's decision (its keccak256 is stored on chain), no expiry.
   */
  z.object({
    kind: z.literal("accreditResearcher"),
    researcher: addressSchema,
    reference: z.string().trim().min(1, "must not be empty").max(200),
  }),
  /** Adds an address the credential's holder asked for (ResearcherCredential.approveAddress). */
  z.object({
    kind: z.literal("approveCredentialAddress"),
    credentialId: credentialIdSchema,
    account: addressSchema,
  }),
  /** Suspends a credential (`suspended: true`) or lifts its suspension. */
  z.object({
    kind: z.literal("suspendCredential"),
    credentialId: credentialIdSchema,
    suspended: z.boolean(),
  }),
  /** Revokes a credential for good: its addresses can never be accredited again. */
  z.object({ kind: z.literal("revokeCredential"), credentialId: credentialIdSchema }),
]);
export type ProposalChange = z.infer<typeof proposalChangeSchema>;

export const buildProposalInputSchema = z.object({
  change: proposalChangeSchema,
  description: z.string().trim().min(1, "must not be empty").max(10_000),
});
export type BuildProposalInput = z.input<typeof buildProposalInputSchema>;

/** A Governor proposal id: uint256 in decimal. */
export const proposalIdInputSchema = z.object({
  id: z.string().regex(/^\d{1,78}$/, "must be a decimal proposal id"),
});

export const proposalListInputSchema = z
  .object({
    /** The id of the last proposal of the previous page. */
    cursor: z
      .string()
      .regex(/^\d{1,78}$/)
      .optional(),
    limit: z.number().int().min(1).max(100).default(20),
  })
  .default({ limit: 20 });
