/**
 * Runs researcher queries as jobs (DESIGN "A query, end to end"):
 *
 *   PENDING   `submitQuery` created the Query row, in the epoch open at that moment (the
 *             operator does not close an epoch while it has queries in flight), and queued a
 *             job for it on the app database (@opencohort/jobs)
 *   RUNNING   a compute worker (apps/compute-worker, or the test harness's in-process one)
 *             took the job: dataset files opened and checked against the on-chain content
 *             hash, consent set read at the indexed block, compute run with the governed
 *             parameters in force now and the (credential, dataset) budget ledger
 *   SUCCEEDED result, receipt and receipt hash stored; inclusions stored privately
 *   REJECTED  a rule refused it (validation rule id, or "privacy-budget")
 *   FAILED    it was accepted but could not run ("dataset-files", "dataset-integrity",
 *             "limit-exceeded", "query-failed")
 *
 * A worker killed mid-run leaves its job to another worker once the job's lease ends. Each
 * take-over is a new attempt; the attempt that claims the row last owns it (Query.runAttempt)
 * and only its outcome is written, so a query completes once. The budget is charged once per
 * query whatever the attempts (budget-ledger.ts). A later attempt draws its noise afresh:
 * safe, since an attempt that did not write its outcome released nothing. Messages stored with
 * a refusal are compute's rule messages or fixed texts here: never a DuckDB error, never a
 * data value.
 */

import {
  type ComputeEngine,
  cohortToSql,
  type DatasetCatalogue,
  parseCohortDefinition,
} from "@opencohort/compute";
import {
  type Db,
  openEpochNumber,
  ordinalsOf,
  type Prisma,
  recordQueryInclusions,
  sqlDialectOf,
  toDbUint,
} from "@opencohort/db";
import type { Job, JobQueue } from "@opencohort/jobs";
import { describeError, type Logger } from "@opencohort/log";
import type { CohortDefinitionInput, QueryError } from "@opencohort/validators";
import type { Address, Hex } from "viem";
import type { ApiServices } from "../context";
import { mirroredCredentialAddresses } from "./accreditation";
import { createDbBudgetLedger, epsilonToFixed } from "./budget-ledger";
import { consentSnapshot } from "./consent-set";
import { apiLogger } from "./log";
import { hiddenCommitment, newReceiptSalt, receiptHash } from "./receipt";
import { disclosureParams, governedStandards } from "./standards";

export const PRIVACY_BUDGET_RULE = "privacy-budget";

export type QueryRequest =
  | { kind: "SQL"; sql: string }
  | { kind: "COHORT"; cohort: CohortDefinitionInput };

/** The queue compute workers take queries from. */
export const QUERY_QUEUE = "query";

export interface QueryJobPayload {
  queryId: string;
}

export type QueryJobQueue = JobQueue<QueryJobPayload>;

/** What running a query needs: no HTTP, no chain client (the mirror has what it reads). */
export interface QueryRunServices {
  db: Db;
  compute: ComputeEngine;
  chainId: number;
  logger?: Logger;
}

export interface SubmitQueryOptions {
  researcher: Address;
  datasetId: string;
  datasetVersionId: string;
  request: QueryRequest;
}

type Finish =
  | { status: "REJECTED" | "FAILED"; rule: string; message: string }
  | { status: "SUCCEEDED" };

/** An attempt whose row was claimed by a later attempt: it must not write its outcome. */
class SupersededAttempt extends Error {
  override name = "SupersededAttempt";
}

/** Creates the PENDING Query row and queues its job; returns the row's id at once. */
export async function submitQuery(
  services: Pick<ApiServices, "db" | "queryJobs">,
  options: SubmitQueryOptions,
): Promise<{ id: string }> {
  const { request } = options;
  const query = await createPendingQuery(services.db, {
    researcherAddress: options.researcher.toLowerCase(),
    datasetId: options.datasetId,
    datasetVersionId: options.datasetVersionId,
    kind: request.kind,
    sql: request.kind === "SQL" ? request.sql : "",
    ...(request.kind === "COHORT"
      ? { cohortDefinition: request.cohort as Prisma.InputJsonValue }
      : {}),
  });
  try {
    await services.queryJobs.send({ queryId: query.id });
  } catch (error) {
    // Without a job nobody would ever run it, and the epoch would wait for it.
    await services.db.query.update({
      where: { id: query.id },
      data: {
        status: "FAILED",
        errorRule: "query-queue",
        errorMessage: "The query could not be queued; try again in a moment.",
        finishedAt: new Date(),
      },
      select: { id: true },
    });
    throw error;
  }
  return { id: query.id };
}

const FINAL_STATUSES = new Set(["SUCCEEDED", "REJECTED", "FAILED"]);

/**
 * Waits until a query is final or `timeoutMs` has passed (then it is still queued or
 * running), polling its row: for callers that asked to wait (scripts, tests).
 */
export async function waitForQuery(db: Db, id: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let pause = 20;
  for (;;) {
    const row = await db.query.findUnique({ where: { id }, select: { status: true } });
    if (!row || FINAL_STATUSES.has(row.status) || Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 250);
  }
}

/**
 * Takes query jobs from `queue` in this process, `concurrency` at a time (the compute
 * engine's sandbox workers), until `queue.stop()`.
 */
export async function startQueryWorker(
  services: QueryRunServices,
  queue: QueryJobQueue,
  options: { concurrency: number },
): Promise<void> {
  const log = apiLogger(services);
  await queue.work(
    async (job) => {
      log.debug(
        { event: "query-job-started", queryId: job.payload.queryId, attempt: job.attempt },
        "query job started",
      );
      await runQueryJob(services, job);
    },
    {
      concurrency: options.concurrency,
      onDead: (job) => failDeadQueryJob(services, job),
      onError: (error, job) =>
        log.error(
          { event: "query-job-error", queryId: job?.payload.queryId, error: describeError(error) },
          "query job error",
        ),
    },
  );
}

/**
 * A job whose attempts all died or failed (a worker killed each time, say): its query ends as
 * FAILED, unless an attempt wrote an outcome after all.
 */
export async function failDeadQueryJob(
  services: Pick<QueryRunServices, "db" | "logger">,
  job: Job<QueryJobPayload>,
): Promise<void> {
  const ended = await services.db.query.updateMany({
    where: { id: job.payload.queryId, status: { in: ["PENDING", "RUNNING"] } },
    data: {
      status: "FAILED",
      errorRule: "query-failed",
      errorMessage: "The query failed.",
      finishedAt: new Date(),
    },
  });
  if (ended.count > 0) {
    apiLogger(services).error(
      { event: "query-job-dead", queryId: job.payload.queryId, attempts: job.attempt },
      "query job used up its attempts",
    );
  }
}

/** The row an attempt claimed, with what it needs to run. */
async function claimQuery(db: Db, queryId: string, attempt: number) {
  const claimed = await db.query.updateMany({
    where: { id: queryId, status: { in: ["PENDING", "RUNNING"] }, runAttempt: { lt: attempt } },
    data: { status: "RUNNING", startedAt: new Date(), runAttempt: attempt },
  });
  if (claimed.count !== 1) return undefined;
  return db.query.findUnique({
    where: { id: queryId },
    select: {
      id: true,
      epoch: true,
      researcherAddress: true,
      datasetId: true,
      kind: true,
      sql: true,
      cohortDefinition: true,
      datasetVersion: { select: { id: true, manifestHash: true, location: true } },
    },
  });
}

/**
 * Runs the query of one job attempt. Returns without effect when the query is final already
 * or a later attempt claimed it; throws only when the database failed (the queue retries).
 */
export async function runQueryJob(
  services: QueryRunServices,
  job: Job<QueryJobPayload>,
): Promise<void> {
  const { db } = services;
  const { queryId } = job.payload;
  const attempt = job.attempt;
  const query = await claimQuery(db, queryId, attempt);
  if (!query) return;
  const mine = { id: queryId, status: "RUNNING" as const, runAttempt: attempt };
  const finish = async (outcome: Exclude<Finish, { status: "SUCCEEDED" }>) => {
    await db.query.updateMany({
      where: mine,
      data: {
        status: outcome.status,
        errorRule: outcome.rule,
        errorMessage: outcome.message,
        finishedAt: new Date(),
      },
    });
  };

  try {
    const researcher = query.researcherAddress as Address;
    const { datasetId, epoch } = query;
    const version = query.datasetVersion;
    if (!version.location) {
      await finish({
        status: "FAILED",
        rule: "dataset-files",
        message: "The steward has not registered this dataset's files yet.",
      });
      return;
    }
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
    if (query.kind === "COHORT") {
      try {
        // Stored from a validated input; parsed again, as JSON from the database.
        sql = cohortToSql(
          parseCohortDefinition(query.cohortDefinition as CohortDefinitionInput),
          catalogue,
        );
      } catch {
        await finish({
          status: "REJECTED",
          rule: "cohort-definition",
          message: "The cohort definition is invalid.",
        });
        return;
      }
      await db.query.updateMany({ where: mine, data: { sql } });
    } else {
      sql = query.sql;
    }

    const standards = await governedStandards(db, services.chainId);
    const snapshot = await consentSnapshot(db, datasetId, services.chainId);
    const params = disclosureParams(standards);
    const outcome = await services.compute.run({
      dataset: catalogue,
      query: { sql },
      consentedPersonIds: snapshot.personIds,
      snapshotBlock: snapshot.block,
      params,
      budget: {
        ledger: createDbBudgetLedger(db, {
          queryId,
          kind: "query",
          totalEpsilon: standards.epsilonBudget,
          // The submit checked that the mirror knows the researcher's credential.
          sharedWith: (await mirroredCredentialAddresses(db, researcher)) ?? [researcher],
        }),
        researcher,
        datasetId,
      },
    });
    if (!outcome.ok) {
      const refused = refusalOf(outcome.error);
      // The researcher sees the query id; the compute log line has the same reference id.
      apiLogger(services).info(
        {
          event: "query-refused",
          queryId,
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
    const queryEpoch = epoch ?? 1;
    const hash = receiptHash({
      chainId: services.chainId,
      queryId,
      researcher,
      datasetId: datasetId as Hex,
      queryHash: outcome.receipt.queryHash as Hex,
      datasetVersionHash: catalogue.contentHash,
      consentSnapshotBlock: snapshot.block,
      parameters,
      resultHash: outcome.receipt.resultHash as Hex,
      hiddenCommitment: commitment,
      epoch: queryEpoch,
    });
    const dialect = sqlDialectOf(db);
    await db.$transaction(
      async (tx) => {
        const owned = await tx.query.updateMany({
          where: mine,
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
        });
        // A later attempt owns the row: roll back, its outcome is the one written.
        if (owned.count !== 1) throw new SupersededAttempt(queryId);
        await recordQueryInclusions(tx, dialect, {
          queryId,
          datasetId,
          epoch: queryEpoch,
          ordinals: ordinalsOf(snapshot, outcome.privateInclusions.personIds),
        });
      },
      { timeout: 60_000 },
    );
  } catch (error) {
    if (error instanceof SupersededAttempt) return;
    // Whatever went wrong stays in the server log; the researcher gets a fixed message.
    apiLogger(services).error(
      {
        event: "query-failed",
        queryId,
        rule: "query-failed",
        error: describeError(error),
      },
      "query execution failed",
    );
    await finish({
      status: "FAILED",
      rule: "query-failed",
      message: "The query failed.",
    });
    // If even that write failed, the error reaches the queue, which retries the job.
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
