/**
 * Feasibility counts: "roughly how many consented persons match this cohort?", free for any
 * signed-in researcher, before buying a pass.
 *
 * They run through compute like any cohort query, over the consented person set at the
 * indexed block, but with `feasibilityParams` (at least twice the governed k and 20, counts
 * rounded to at least 10, epsilon at most 0.1 per count), and they spend a budget of their
 * own: FEASIBILITY_EPSILON_BUDGET per (researcher, dataset). Each count is a Query row of
 * kind FEASIBILITY whose PrivacyBudgetEntry (queryId set) is charged to that budget — never
 * to the governed query budget a pass buys (services/budget-ledger.ts). Feasibility counts
 * get no receipt, no epoch and no inclusions: they pay no rewards and do not appear in a
 * patient's "who used my data".
 */
import {
  cohortToSql,
  type DatasetCatalogue,
  feasibilityParams,
  parseCohortDefinition,
} from "@opencohort/compute";
import { type Prisma, toDbUint } from "@opencohort/db";
import type { CohortDefinitionInput } from "@opencohort/validators";
import { TRPCError } from "@trpc/server";
import type { Address } from "viem";
import type { ApiServices } from "../context";
import { createDbBudgetLedger, epsilonToFixed, FEASIBILITY_EPSILON_BUDGET } from "./budget-ledger";
import { consentSnapshot } from "./consent-set";
import { refusal } from "./refusal";
import { disclosureParams, governedStandards } from "./standards";

export const FEASIBILITY_BUDGET_RULE = "feasibility-budget";

export async function runFeasibility(
  services: Pick<ApiServices, "db" | "chain" | "compute">,
  researcher: Address,
  datasetId: string,
  cohort: CohortDefinitionInput,
) {
  const { db, chain, compute } = services;
  const dataset = await db.dataset.findUnique({
    where: { id: datasetId },
    select: {
      listed: true,
      versions: {
        where: { location: { not: null } },
        orderBy: { version: "desc" },
        take: 1,
        select: { id: true, version: true, manifestHash: true, location: true },
      },
    },
  });
  if (!dataset?.listed) {
    throw new TRPCError({ code: "NOT_FOUND", message: "There is no listed dataset with this id." });
  }
  const version = dataset.versions[0];
  if (!version?.location) {
    throw refusal(
      "PRECONDITION_FAILED",
      "dataset-files",
      "The steward has not registered this dataset's files yet.",
    );
  }
  const standards = await governedStandards(db, chain.chainId);
  const params = feasibilityParams(disclosureParams(standards));

  let catalogue: DatasetCatalogue;
  try {
    catalogue = await compute.catalogue(version.location);
  } catch {
    throw refusal(
      "PRECONDITION_FAILED",
      "dataset-files",
      "The dataset's files could not be opened; the steward has to register them again.",
    );
  }
  if (catalogue.contentHash.toLowerCase() !== version.manifestHash.toLowerCase()) {
    throw refusal(
      "PRECONDITION_FAILED",
      "dataset-integrity",
      "The dataset's files do not match the content hash published on chain.",
    );
  }
  let sql: string;
  try {
    sql = cohortToSql(parseCohortDefinition(cohort), catalogue);
  } catch {
    throw refusal("BAD_REQUEST", "cohort-definition", "The cohort definition is invalid.");
  }

  const snapshot = await consentSnapshot(db, datasetId, chain.chainId);
  const researcherAddress = researcher.toLowerCase();
  const query = await db.query.create({
    data: {
      researcherAddress,
      datasetId,
      datasetVersionId: version.id,
      kind: "FEASIBILITY",
      sql,
      cohortDefinition: cohort as Prisma.InputJsonValue,
      status: "RUNNING",
      startedAt: new Date(),
      datasetVersionHash: version.manifestHash,
      consentSnapshotBlock: snapshot.block,
      parameters: { ...params, epsilonBudget: FEASIBILITY_EPSILON_BUDGET },
    },
    select: { id: true },
  });
  const outcome = await compute.run({
    dataset: catalogue,
    query: { sql },
    consentedPersonIds: snapshot.personIds,
    snapshotBlock: snapshot.block,
    params,
    budget: {
      ledger: createDbBudgetLedger(db, {
        queryId: query.id,
        kind: "feasibility",
        totalEpsilon: FEASIBILITY_EPSILON_BUDGET,
      }),
      researcher: researcherAddress,
      datasetId,
    },
  });

  if (!outcome.ok) {
    const { error } = outcome;
    const rule =
      error.code === "budget-exhausted"
        ? FEASIBILITY_BUDGET_RULE
        : error.code === "rejected"
          ? (error.rule ?? "rejected")
          : error.code;
    const message =
      error.code === "budget-exhausted"
        ? `Your feasibility budget for this dataset is spent (${FEASIBILITY_EPSILON_BUDGET} epsilon; rule ${FEASIBILITY_BUDGET_RULE}). Buy an access pass to run full queries.`
        : error.code === "query-failed"
          ? `The feasibility count failed (reference ${error.referenceId}).`
          : error.message;
    await db.query.update({
      where: { id: query.id },
      data: {
        status: error.code === "query-failed" ? "FAILED" : "REJECTED",
        errorRule: rule,
        errorMessage: message,
        finishedAt: new Date(),
      },
      select: { id: true },
    });
    if (error.code === "query-failed") {
      throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message });
    }
    throw refusal(error.code === "budget-exhausted" ? "FORBIDDEN" : "BAD_REQUEST", rule, message);
  }

  const { researcherResult, receipt } = outcome;
  const result = {
    columns: researcherResult.columns,
    rows: researcherResult.rows,
    delta: researcherResult.delta,
  };
  await db.query.update({
    where: { id: query.id },
    data: {
      status: "SUCCEEDED",
      result,
      epsilonSpent: toDbUint(epsilonToFixed(researcherResult.epsilonSpent)),
      queryHash: researcherResult.queryHash,
      resultHash: receipt.resultHash,
      finishedAt: new Date(),
    },
    select: { id: true },
  });
  return {
    ...result,
    epsilonSpent: researcherResult.epsilonSpent,
    /** What is left of the feasibility budget for this dataset. */
    budgetRemaining: researcherResult.budgetRemaining,
    queryHash: researcherResult.queryHash,
    referenceId: researcherResult.referenceId,
    parameters: {
      minCellSize: params.minCellSize,
      roundingBase: params.roundingBase,
      epsilonPerQuery: params.epsilonPerQuery,
    },
    consentSnapshotBlock: snapshot.block,
  };
}
