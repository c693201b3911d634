/**
 * The governed standards as the indexer mirrored them (latest StandardsSnapshot): the
 * parameters compute is run with, and what the catalogue shows a researcher.
 */
import type { Db } from "@opencohort/db";
import { type DisclosureParams, disclosureParamsSchema } from "@opencohort/validators";
import { TRPCError } from "@trpc/server";
import { fixedToEpsilon } from "./budget-ledger";

export interface GovernedStandards {
  /** Block of the snapshot (the standards in force since). */
  block: bigint;
  minCellSize: number;
  roundingBase: number;
  contributionCap: number;
  epsilonPerQuery: number;
  epsilonBudget: number;
  /** bytes32 hashes of the accepted dataset schema versions. */
  acceptedSchemaVersions: string[];
}

/** The latest mirrored standards; PRECONDITION_FAILED before the indexer has seen any. */
export async function governedStandards(db: Db, chainId: number): Promise<GovernedStandards> {
  const snapshot = await db.standardsSnapshot.findFirst({
    where: { chainId },
    orderBy: { block: "desc" },
    select: {
      block: true,
      minCellSize: true,
      roundingBase: true,
      contributionCap: true,
      epsilonPerQuery: true,
      epsilonBudget: true,
      acceptedSchemaVersions: true,
    },
  });
  if (!snapshot) {
    throw new TRPCError({
      code: "PRECONDITION_FAILED",
      message: "The governed standards are not indexed yet; try again in a moment.",
    });
  }
  return {
    block: snapshot.block,
    minCellSize: snapshot.minCellSize,
    roundingBase: snapshot.roundingBase,
    contributionCap: snapshot.contributionCap,
    epsilonPerQuery: fixedToEpsilon(BigInt(snapshot.epsilonPerQuery)),
    epsilonBudget: fixedToEpsilon(BigInt(snapshot.epsilonBudget)),
    acceptedSchemaVersions: Array.isArray(snapshot.acceptedSchemaVersions)
      ? snapshot.acceptedSchemaVersions.map(String)
      : [],
  };
}

/** compute's disclosure parameters from the governed standards. */
export function disclosureParams(standards: GovernedStandards): DisclosureParams {
  return disclosureParamsSchema.parse({
    minCellSize: standards.minCellSize,
    roundingBase: standards.roundingBase,
    contributionCap: standards.contributionCap,
    epsilonPerQuery: standards.epsilonPerQuery,
    // Each query is a share of this budget (compute's zCDP accounting).
    epsilonBudget: standards.epsilonBudget,
  });
}
