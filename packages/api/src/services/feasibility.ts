/**
 * Feasibility counts: "roughly how many consented persons match this cohort?", free for any
 * signed-in researcher, before buying a pass.
 *
 * They run through compute like any cohort query, over the consented person set at the
 * indexed block, but with `feasibilityParams` (at least twice the governed k and 20, counts
 * rounded to at least 10, epsilon at most 0.1 per count), and they spend a budget of their
 * own: ONE budget of `config.feasibilityEpsilonBudget` (default FEASIBILITY_EPSILON_BUDGET,
 * 10 epsilon) per dataset, shared by every caller across the dataset's versions. A budget per
 * address would not do: addresses are free, so a sybil would get unlimited fresh samples.
 *
 * So that honest use does not burn the shared budget, a count whose canonical query
 * (compute.validate's queryHash) was answered before on the same dataset version, with the
 * same parameters and over the same consented set (same snapshot block, or the same set of
 * persons at a later block) returns the stored answer and spends nothing: it releases nothing
 * that was not released already.
 *
 * Each fresh count is a Query row of kind FEASIBILITY whose PrivacyBudgetEntry (queryId set)
 * is charged to the feasibility budget — never to the governed query budget a pass buys
 * (services/budget-ledger.ts). Feasibility counts get no receipt, no epoch and no inclusions:
 * they pay no rewards and do not appear in a patient's "who used my data".
 */

import { createHash } from "node:crypto";
import {
  cohortToSql,
  type DatasetCatalogue,
  feasibilityParams,
  parseCohortDefinition,
} from "@opencohort/compute";
import { type Prisma, toDbUint } from "@opencohort/db";
import type { CohortDefinitionInput, ResearcherResult } from "@opencohort/validators";
import { TRPCError } from "@trpc/server";
import type { Address } from "viem";
import type { ApiServices } from "../context";
import { requireAccreditation } from "./accreditation";
import {
  budgetRemaining,
  createDbBudgetLedger,
  epsilonToFixed,
  FEASIBILITY_EPSILON_BUDGET,
} from "./budget-ledger";
import { consentSnapshot } from "./consent-set";
import { ReferencedFailure } from "./log";
import { refusal } from "./refusal";
import { disclosureParams, governedStandards } from "./standards";

export const FEASIBILITY_BUDGET_RULE = "feasibility-budget";

/** The shared feasibility budget of one dataset, in epsilon. */
export function feasibilityBudgetOf(config: ApiServices["config"]): number {
  return config.feasibilityEpsilonBudget ?? FEASIBILITY_EPSILON_BUDGET;
}

/** A digest of the consented set, so a repeat at a later block over the same persons matches. */
function consentSetHash(personIds: BigInt64Array): string {
  return createHash("sha256")
    .update(new Uint8Array(personIds.buffer, personIds.byteOffset, personIds.byteLength))
    .digest("hex");
}

/** The parameters that shape an answer, as one comparable string. */
function parametersKey(params: Record<string, unknown>): string {
  return JSON.stringify(
    Object.fromEntries(Object.entries(params).sort(([a], [b]) => (a < b ? -1 : 1))),
  );
}

export async function runFeasibility(
  services: Pick<ApiServices, "db" | "chain" | "compute" | "config">,
  researcher: Address,
  datasetId: string,
  cohort: CohortDefinitionInput,
) {
  const { db, chain, compute } = services;
  await requireAccreditation(services, researcher);
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
  const totalEpsilon = feasibilityBudgetOf(services.config);
  // Feasibility counts are shares of the shared feasibility budget, not of the governed one.
  const params = { ...feasibilityParams(disclosureParams(standards)), epsilonBudget: totalEpsilon };

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
  const setHash = consentSetHash(snapshot.personIds);
  const paramsKey = parametersKey({ ...params });
  const answered = await storedAnswer(services, {
    datasetId,
    datasetVersionId: version.id,
    sql,
    catalogue,
    block: snapshot.block,
    setHash,
    paramsKey,
  });
  if (answered) {
    return {
      ...answered.result,
      epsilonSpent: 0,
      budgetRemaining: await budgetRemaining(
        db,
        researcher,
        datasetId,
        "feasibility",
        totalEpsilon,
      ),
      queryHash: answered.queryHash,
      referenceId: answered.referenceId,
      parameters: {
        minCellSize: params.minCellSize,
        roundingBase: params.roundingBase,
        epsilonPerQuery: params.epsilonPerQuery,
      },
      consentSnapshotBlock: answered.consentSnapshotBlock,
      /** True: the same count was answered before; this answer is the stored one and free. */
      repeated: true,
    };
  }
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
      parameters: {
        ...params,
        epsilonBudget: totalEpsilon,
        // Server-side only (feasibility rows are never shown): what a repeat must match.
        parametersKey: paramsKey,
        consentSetHash: setHash,
      },
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
        totalEpsilon,
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
        ? `The feasibility budget of this dataset is spent: it is shared by all researchers (${totalEpsilon} epsilon in all; rule ${FEASIBILITY_BUDGET_RULE}). Counts already answered can still be repeated for free; buy an access pass to run full queries.`
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
      throw new TRPCError({
        code: "INTERNAL_SERVER_ERROR",
        message,
        cause: new ReferencedFailure(error.referenceId),
      });
    }
    throw refusal(error.code === "budget-exhausted" ? "FORBIDDEN" : "BAD_REQUEST", rule, message);
  }

  const { researcherResult, receipt } = outcome;
  const result = {
    columns: researcherResult.columns,
    rows: researcherResult.rows,
    // Public scales and noisy values only (see researcherResultSchema): free to show.
    ...(researcherResult.uncertainty ? { uncertainty: researcherResult.uncertainty } : {}),
    delta: researcherResult.delta,
    releaseThreshold: researcherResult.releaseThreshold,
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
      parameters: {
        ...params,
        epsilonBudget: totalEpsilon,
        parametersKey: paramsKey,
        consentSetHash: setHash,
        referenceId: researcherResult.referenceId,
      },
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
    repeated: false,
  };
}

interface StoredAnswerKey {
  datasetId: string;
  datasetVersionId: string;
  sql: string;
  catalogue: DatasetCatalogue;
  block: bigint;
  setHash: string;
  paramsKey: string;
}

/**
 * The answer of an earlier succeeded count of the same canonical query on the same version,
 * parameters and consented set, if there is one. Validation only computes the canonical hash
 * here; an invalid query finds nothing and is refused by compute.run as usual.
 */
async function storedAnswer(services: Pick<ApiServices, "db" | "compute">, key: StoredAnswerKey) {
  let queryHash: string;
  try {
    const validation = await services.compute.validate(key.sql, key.catalogue);
    if (!validation.ok) return null;
    queryHash = validation.queryHash.toLowerCase();
  } catch {
    return null;
  }
  const earlier = await services.db.query.findMany({
    where: {
      datasetId: key.datasetId,
      datasetVersionId: key.datasetVersionId,
      queryHash,
      kind: "FEASIBILITY",
      status: "SUCCEEDED",
    },
    orderBy: { createdAt: "asc" },
    take: 50,
    select: { result: true, consentSnapshotBlock: true, parameters: true },
  });
  for (const row of earlier) {
    const stored = (row.parameters ?? {}) as Record<string, unknown>;
    const sameSet = row.consentSnapshotBlock === key.block || stored.consentSetHash === key.setHash;
    if (!sameSet || stored.parametersKey !== key.paramsKey || !row.result) continue;
    const result = row.result as { columns: unknown; rows: unknown; delta: number };
    return {
      result: result as unknown as Pick<
        ResearcherResult,
        "columns" | "rows" | "uncertainty" | "delta" | "releaseThreshold"
      >,
      queryHash,
      referenceId: typeof stored.referenceId === "string" ? stored.referenceId : "",
      consentSnapshotBlock: row.consentSnapshotBlock ?? key.block,
    };
  }
  return null;
}
