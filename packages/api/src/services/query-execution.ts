/**
 * Runs one researcher query end to end (DESIGN "A query, end to end"):
 *
 *   PENDING   the Query row exists, in the epoch open at that moment (the operator does not
 *             close an epoch while it has queries in flight)
 *   RUNNING   dataset files opened and checked against the on-chain content hash, consent
 *             set read at the indexed block, compute run with the governed parameters and
 *             the (researcher, dataset) budget ledger
 *   SUCCEEDED result, receipt and receipt hash stored; inclusions stored privately
 *   REJECTED  a rule refused it (validation rule id, or "privacy-budget")
 *   FAILED    it was accepted but could not run ("dataset-files", "dataset-integrity",
 *             "limit-exceeded", "query-failed")
 *
 * `startQuery` returns as soon as the row exists and runs it on. `query.submit` awaits the run
 * by default (the row is final when submit returns; the web app shows "running" while the
 * request is open); with `wait: false` it answers at once and the caller polls `query.status`
 * (scripts whose queries outlast an HTTP timeout). Messages stored with a
 * refusal are compute's rule messages or fixed texts here: never a DuckDB error, never a data
 * value.
 */

import { cohortToSql, type DatasetCatalogue, parseCohortDefinition } from "@opencohort/compute";
import {
  openEpochNumber,
  type Prisma,
  recordQueryInclusions,
  sqlDialectOf,
  toDbUint,
} from "@opencohort/db";
import { describeError } from "@opencohort/log";
import type { CohortDefinitionInput, QueryError } from "@opencohort/validators";
import type { Address, Hex } from "viem";
import type { ApiServices } from "../context";
import { credentialAddresses } from "./accreditation";
import { createDbBudgetLedger, epsilonToFixed } from "./budget-ledger";
import { consentSnapshot } from "./consent-set";
import { apiLogger } from "./log";
import { hiddenCommitment, newReceiptSalt, receiptHash } from "./receipt";
import { disclosureParams, type GovernedStandards } from "./standards";

export const PRIVACY_BUDGET_RULE = "privacy-budget";

export type QueryRequest =
  | { kind: "SQL"; sql: string }
  | { kind: "COHORT"; cohort: CohortDefinitionInput };

export interface ExecuteQueryOptions {
  services: ApiServices;
  researcher: Address;
  datasetId: string;
  version: { id: string; manifestHash: string; location: string };
  standards: GovernedStandards;
  request: QueryRequest;
}

type Finish =
  | { status: "REJECTED" | "FAILED"; rule: string; message: string }
  | { status: "SUCCEEDED" };

/**
 * Creates the PENDING Query row and starts running it; `finished` settles (never rejects) when
 * the row is final. A process that stops before then leaves the row RUNNING (see #15's job
 * queue for runs that survive a restart).
 */
export async function startQuery(
  options: ExecuteQueryOptions,
): Promise<{ id: string; finished: Promise<void> }> {
  const query = await createPendingQuery(options.services.db, {
    researcherAddress: options.researcher.toLowerCase(),
    datasetId: options.datasetId,
    datasetVersionId: options.version.id,
    kind: options.request.kind,
    sql: options.request.kind === "SQL" ? options.request.sql : "",
    ...(options.request.kind === "COHORT"
      ? { cohortDefinition: options.request.cohort as Prisma.InputJsonValue }
      : {}),
  });
  return { id: query.id, finished: runPendingQuery(options, query) };
}

async function runPendingQuery(
  options: ExecuteQueryOptions,
  query: { id: string; epoch: number },
): Promise<void> {
  const { services, researcher, datasetId, version, standards, request } = options;
  const { db } = services;
  const finish = (outcome: Finish) =>
    db.query.update({
      where: { id: query.id },
      data:
        outcome.status === "SUCCEEDED"
          ? { status: "SUCCEEDED", finishedAt: new Date() }
          : {
              status: outcome.status,
              errorRule: outcome.rule,
              errorMessage: outcome.message,
              finishedAt: new Date(),
            },
      select: { id: true },
    });

  try {
    await db.query.update({
      where: { id: query.id },
      data: { status: "RUNNING", startedAt: new Date() },
      select: { id: true },
    });

    let catalogue: DatasetCatalogue;
    try {
      catalogue = await services.compute.catalogue(version.location);
    } catch {
      await finish({
        status: "FAILED",
        rule: "dataset-files",
        message: "The dataset's files could not be opened; the steward has to register them again.",
      });
      return;
    }
    if (catalogue.contentHash.toLowerCase() !== version.manifestHash.toLowerCase()) {
      await finish({
        status: "FAILED",
        rule: "dataset-integrity",
        message: "The dataset's files do not match the content hash published on chain.",
      });
      return;
    }

    let sql: string;
    if (request.kind === "COHORT") {
      try {
        sql = cohortToSql(parseCohortDefinition(request.cohort), catalogue);
      } catch {
        await finish({
          status: "REJECTED",
          rule: "cohort-definition",
          message: "The cohort definition is invalid.",
        });
        return;
      }
      await db.query.update({ where: { id: query.id }, data: { sql }, select: { id: true } });
    } else {
      sql = request.sql;
    }

    const snapshot = await consentSnapshot(db, datasetId, services.chain.chainId);
    const params = disclosureParams(standards);
    const outcome = await services.compute.run({
      dataset: catalogue,
      query: { sql },
      consentedPersonIds: snapshot.personIds,
      snapshotBlock: snapshot.block,
      params,
      budget: {
        ledger: createDbBudgetLedger(db, {
          queryId: query.id,
          kind: "query",
          totalEpsilon: standards.epsilonBudget,
          sharedWith: await credentialAddresses(services, researcher),
        }),
        researcher: researcher.toLowerCase(),
        datasetId,
      },
    });
    if (!outcome.ok) {
      const refused = refusalOf(outcome.error);
      // The researcher sees the query id; the compute log line has the same reference id.
      apiLogger(services).info(
        {
          event: "query-refused",
          queryId: query.id,
          referenceId: outcome.error.referenceId,
          rule: refused.rule,
        },
        "query refused",
      );
      await finish(refused);
      return;
    }

    const parameters = {
      minCellSize: params.minCellSize,
      roundingBase: params.roundingBase,
      epsilonPerQuery: epsilonToFixed(params.epsilonPerQuery).toString(),
      contributionCap: params.contributionCap,
      maxGroupsPerPerson: outcome.receipt.contributionBounds.maxGroupsPerPerson,
    };
    const includedPersonCount = outcome.privateInclusions.personIds.length;
    // Receipt v3: the count enters the hash only through a salted commitment (receipt.ts).
    const salt = newReceiptSalt();
    const commitment = hiddenCommitment(salt, includedPersonCount);
    const hash = receiptHash({
      chainId: services.chain.chainId,
      queryId: query.id,
      researcher: researcher.toLowerCase() as Address,
      datasetId: datasetId as Hex,
      queryHash: outcome.receipt.queryHash as Hex,
      datasetVersionHash: catalogue.contentHash,
      consentSnapshotBlock: snapshot.block,
      parameters,
      resultHash: outcome.receipt.resultHash as Hex,
      hiddenCommitment: commitment,
      epoch: query.epoch,
    });
    const dialect = sqlDialectOf(db);
    await db.$transaction(
      async (tx) => {
        await recordQueryInclusions(tx, dialect, {
          queryId: query.id,
          datasetId,
          epoch: query.epoch,
          personIds: outcome.privateInclusions.personIds,
        });
        await tx.query.update({
          where: { id: query.id },
          data: {
            status: "SUCCEEDED",
            result: outcome.researcherResult as unknown as Prisma.InputJsonValue,
            epsilonSpent: toDbUint(epsilonToFixed(outcome.researcherResult.epsilonSpent)),
            queryHash: outcome.receipt.queryHash.toLowerCase(),
            datasetVersionHash: catalogue.contentHash.toLowerCase(),
            consentSnapshotBlock: snapshot.block,
            parameters: {
              ...parameters,
              epsilonPerQueryValue: params.epsilonPerQuery,
              epsilonBudget: standards.epsilonBudget,
              // zCDP cost and noise (0 for a free repeat), and what a repeat must match.
              rho: outcome.researcherResult.rho ?? null,
              mechanism: outcome.researcherResult.mechanism ?? null,
              repeatKey: outcome.repeatKey,
              standardsBlock: standards.block.toString(),
              referenceId: outcome.receipt.referenceId,
              contributionLevel: outcome.receipt.contributionBounds.level,
              // The consented population the query ran over: public already (consents are
              // on chain, the catalogue shows the count), unlike the persons included.
              consentedPersons: snapshot.personIds.length,
            },
            resultHash: outcome.receipt.resultHash.toLowerCase(),
            includedPersonCount,
            receiptSalt: salt,
            hiddenCommitment: commitment,
            receiptHash: hash,
            finishedAt: new Date(),
          },
          select: { id: true },
        });
      },
      { timeout: 60_000 },
    );
  } catch (error) {
    // Whatever went wrong stays in the server log; the researcher gets a fixed message.
    apiLogger(services).error(
      {
        event: "query-failed",
        queryId: query.id,
        rule: "query-failed",
        error: describeError(error),
      },
      "query execution failed",
    );
    await finish({
      status: "FAILED",
      rule: "query-failed",
      message: "The query failed.",
    }).catch(() => undefined);
  }
}

/** The stored refusal of an engine error: its rule and its (value-free) message. */
function refusalOf(error: QueryError): Exclude<Finish, { status: "SUCCEEDED" }> {
  switch (error.code) {
    case "rejected":
      return { status: "REJECTED", rule: error.rule ?? "rejected", message: error.message };
    case "budget-exhausted":
      return { status: "REJECTED", rule: PRIVACY_BUDGET_RULE, message: error.message };
    case "limit-exceeded":
      return { status: "FAILED", rule: "limit-exceeded", message: error.message };
    default:
      return { status: "FAILED", rule: "query-failed", message: error.message };
  }
}

/** The row in the epoch open right now, created in one transaction with the epoch read. */
async function createPendingQuery(
  db: ApiServices["db"],
  data: Omit<Prisma.QueryUncheckedCreateInput, "epoch" | "status">,
): Promise<{ id: string; epoch: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const created = await db.$transaction(async (tx) =>
        tx.query.create({
          data: { ...data, status: "PENDING", epoch: await openEpochNumber(tx) },
          select: { id: true, epoch: true },
        }),
      );
      return { id: created.id, epoch: created.epoch ?? 1 };
    } catch (error) {
      // Two first queries opening epoch 1 at once: the loser reads the winner's epoch.
      const code = (error as { code?: unknown }).code;
      if ((code !== "P2002" && code !== "P2034") || attempt >= 3) throw error;
    }
  }
}
