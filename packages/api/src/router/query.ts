/**
 * Researcher queries: submit SQL or a cohort definition against a dataset the caller holds an
 * active access pass for, then read back status, result, receipt, history and remaining
 * budget. Every signed-in address is a researcher; each query is readable by its owner only.
 * Which persons a query included is stored privately and never returned here.
 */
import { queryAccounting } from "@opencohort/compute";
import { fromDbUint, type Prisma } from "@opencohort/db";
import {
  queryBudgetInputSchema,
  queryHistoryInputSchema,
  queryIdInputSchema,
  querySubmitInputSchema,
  type ResearcherResult,
} from "@opencohort/validators";
import { TRPCError, type TRPCRouterRecord } from "@trpc/server";
import { type Address, getAddress } from "viem";
import type { ApiContext } from "../context";
import { requireActivePass } from "../services/access-check";
import { credentialAddresses } from "../services/accreditation";
import { budgetRemaining, budgetSpent, fixedToEpsilon } from "../services/budget-ledger";
import { syncIndexer } from "../services/indexer-sync";
import { submitQuery, waitForQuery } from "../services/query-execution";
import { RECEIPT_VERSION } from "../services/receipt";
import { receiptProof } from "../services/receipt-proof";
import { refusal } from "../services/refusal";
import { disclosureParams, governedStandards } from "../services/standards";
import { rateLimited, roleProcedure } from "../trpc";

const researcherProcedure = roleProcedure("researcher");

/** How long `submit` with `wait: true` holds the request open (below common proxy timeouts). */
const SUBMIT_WAIT_MS = 55_000;

const queryColumns = {
  id: true,
  researcherAddress: true,
  datasetId: true,
  kind: true,
  sql: true,
  cohortDefinition: true,
  status: true,
  result: true,
  errorRule: true,
  errorMessage: true,
  epsilonSpent: true,
  queryHash: true,
  datasetVersionHash: true,
  consentSnapshotBlock: true,
  parameters: true,
  resultHash: true,
  // Never receiptSalt or includedPersonCount: with them the count could be read or found.
  hiddenCommitment: true,
  receiptHash: true,
  epoch: true,
  createdAt: true,
  startedAt: true,
  finishedAt: true,
  datasetVersion: { select: { version: true } },
} as const satisfies Prisma.QuerySelect;

type QueryRow = Prisma.QueryGetPayload<{ select: typeof queryColumns }>;

const epsilonOf = (value: string | null) =>
  value === null ? null : fixedToEpsilon(fromDbUint(value));

/** What the researcher may see of a refusal: the rule and compute's value-free message. */
function errorOf(row: Pick<QueryRow, "errorRule" | "errorMessage">) {
  return row.errorRule ? { rule: row.errorRule, message: row.errorMessage ?? "" } : null;
}

/**
 * The receipt as shown to its owner. The exact count of included persons is stored but
 * withheld from the researcher: it is an un-noised count of the persons behind the released
 * rows, and two queries differing in one predicate would give away exact counts the noise
 * protects. The anchored hash commits to it only through `hiddenCommitment`, salted with a
 * secret the researcher never sees (services/receipt.ts, version 3), so trying every count
 * against the hash finds nothing; with the fields below the owner can still recompute the
 * hash and check it against the epoch root (`receiptProof`).
 */
function receiptOf(row: QueryRow, chainId: number) {
  if (row.status !== "SUCCEEDED" || !row.receiptHash) return null;
  const parameters = (row.parameters ?? {}) as Record<string, unknown>;
  return {
    /** 3 for salted receipts; 2 for receipts stored before (hiddenCommitment null). */
    version: row.hiddenCommitment ? RECEIPT_VERSION : 2,
    receiptHash: row.receiptHash,
    chainId,
    queryId: row.id,
    researcher: row.researcherAddress,
    hiddenCommitment: row.hiddenCommitment,
    queryHash: row.queryHash,
    datasetId: row.datasetId,
    datasetVersion: row.datasetVersion.version,
    datasetVersionHash: row.datasetVersionHash,
    consentSnapshotBlock: row.consentSnapshotBlock,
    /** Patients whose consent was granted at the snapshot (the population queried). */
    consentedPersons:
      typeof parameters.consentedPersons === "number" ? parameters.consentedPersons : null,
    parameters: {
      minCellSize: Number(parameters.minCellSize),
      roundingBase: Number(parameters.roundingBase),
      epsilonPerQuery: String(parameters.epsilonPerQuery),
      contributionCap: Number(parameters.contributionCap),
      /** Groups one person can count in; the noise of every cell is multiplied by it. */
      maxGroupsPerPerson: Number(parameters.maxGroupsPerPerson ?? 1),
      /** "person": one group per person; "event": a person may count in several groups. */
      contributionLevel: parameters.contributionLevel === "event" ? "event" : "person",
    },
    resultHash: row.resultHash,
    epsilonSpent: epsilonOf(row.epsilonSpent),
    /** The query's zCDP cost (0 for a free identical repeat); null before issue #14. */
    rho: typeof parameters.rho === "number" ? parameters.rho : null,
    /** The noise: "gaussian" (zCDP accounting) or "laplace"; null before issue #14. */
    mechanism:
      parameters.mechanism === "gaussian" || parameters.mechanism === "laplace"
        ? parameters.mechanism
        : null,
    epoch: row.epoch,
    executedAt: row.finishedAt,
  };
}

function viewOf(row: QueryRow, chainId: number) {
  return {
    id: row.id,
    datasetId: row.datasetId,
    datasetVersion: row.datasetVersion.version,
    kind: row.kind,
    sql: row.sql,
    cohort: row.cohortDefinition,
    status: row.status,
    result: (row.result as ResearcherResult | null) ?? null,
    error: errorOf(row),
    epsilonSpent: epsilonOf(row.epsilonSpent),
    receipt: receiptOf(row, chainId),
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
  };
}

/** The caller's own query: NOT_FOUND for an unknown id, FORBIDDEN for somebody else's. */
async function ownQuery(ctx: ApiContext & { session: { address: Address } }, id: string) {
  const row = await ctx.db.query.findUnique({ where: { id }, select: queryColumns });
  if (!row || row.kind === "FEASIBILITY") {
    throw new TRPCError({ code: "NOT_FOUND", message: "No such query." });
  }
  if (row.researcherAddress !== ctx.session.address.toLowerCase()) {
    throw new TRPCError({
      code: "FORBIDDEN",
      message: "This query belongs to another researcher.",
    });
  }
  return row;
}

async function requireDataset(ctx: ApiContext, datasetId: string) {
  const dataset = await ctx.db.dataset.findUnique({
    where: { id: datasetId },
    select: { id: true },
  });
  if (!dataset) throw new TRPCError({ code: "NOT_FOUND", message: "No such dataset." });
}

export const queryRouter = {
  /**
   * Queues SQL or a cohort definition for the compute workers and answers at once with the
   * row (PENDING); the caller follows it with `status` or `get`. With `wait: true` it answers
   * when the query is final (SUCCEEDED with the disclosure-controlled result and receipt, or
   * REJECTED/FAILED with the rule), or after SUBMIT_WAIT_MS with the row as it then is.
   * FORBIDDEN (rule access-pass) without an active pass.
   */
  submit: researcherProcedure
    .use(rateLimited("submit"))
    .input(querySubmitInputSchema)
    .mutation(async ({ ctx, input }) => {
      // A purchase or a revocation just mined must count: bring the mirror up to the head.
      await syncIndexer(ctx.chain);
      await requireDataset(ctx, input.datasetId);
      const researcher = ctx.session.address;
      await requireActivePass(ctx, researcher, input.datasetId);
      const version = await ctx.db.datasetVersion.findFirst({
        where: { datasetId: input.datasetId, location: { not: null } },
        orderBy: { version: "desc" },
        select: { id: true, manifestHash: true, location: true },
      });
      if (!version?.location) {
        throw refusal(
          "PRECONDITION_FAILED",
          "dataset-files",
          "The steward has not registered this dataset's files yet.",
        );
      }
      // Refused here, at once, rather than by the worker: standards not indexed yet, or a
      // credential the mirror does not know yet (the worker reads the budget's holders there).
      await governedStandards(ctx.db, ctx.chain.chainId);
      await credentialAddresses(ctx, researcher);
      const { id } = await submitQuery(ctx, {
        researcher,
        datasetId: input.datasetId,
        datasetVersionId: version.id,
        request:
          input.sql !== undefined
            ? { kind: "SQL", sql: input.sql }
            : { kind: "COHORT", cohort: input.cohort ?? {} },
      });
      if (input.wait) await waitForQuery(ctx.db, id, SUBMIT_WAIT_MS);
      return viewOf(await ownQuery(ctx, id), ctx.chain.chainId);
    }),

  /** Where a query is (PENDING, RUNNING, SUCCEEDED, REJECTED, FAILED), with its refusal. */
  status: researcherProcedure.input(queryIdInputSchema).query(async ({ ctx, input }) => {
    const row = await ownQuery(ctx, input.id);
    return {
      id: row.id,
      status: row.status,
      error: errorOf(row),
      createdAt: row.createdAt,
      startedAt: row.startedAt,
      finishedAt: row.finishedAt,
    };
  }),

  /** The whole query as its owner sees it: result, refusal, receipt. */
  result: researcherProcedure
    .input(queryIdInputSchema)
    .query(async ({ ctx, input }) => viewOf(await ownQuery(ctx, input.id), ctx.chain.chainId)),

  /** The receipt of a succeeded query (null while it runs or when it was refused). */
  receipt: researcherProcedure.input(queryIdInputSchema).query(async ({ ctx, input }) => {
    const row = await ownQuery(ctx, input.id);
    return { id: row.id, status: row.status, receipt: receiptOf(row, ctx.chain.chainId) };
  }),

  /**
   * The Merkle proof of my query's receipt in its epoch's root, once the operator has
   * anchored that root in QueryLedger (`anchored: false` until then, or for a query without
   * a receipt). Check it with QueryLedger.verifyReceipt(epoch, receiptHash, proof).
   */
  receiptProof: researcherProcedure.input(queryIdInputSchema).query(async ({ ctx, input }) => {
    const row = await ownQuery(ctx, input.id);
    const proof =
      row.status === "SUCCEEDED" && row.receiptHash && row.epoch !== null
        ? await receiptProof(ctx.db, row.epoch, row.receiptHash)
        : null;
    return {
      id: row.id,
      receiptHash: row.status === "SUCCEEDED" ? row.receiptHash : null,
      epoch: row.epoch,
      queryLedger: ctx.chain.manifest.contracts.QueryLedger,
      ...(proof
        ? {
            anchored: true as const,
            root: proof.root,
            proof: proof.proof,
            anchorTxHash: proof.anchorTxHash,
            anchorBlock: proof.anchorBlock,
          }
        : { anchored: false as const }),
    };
  }),

  /** My queries, newest first (optionally of one dataset), without their result rows. */
  history: researcherProcedure.input(queryHistoryInputSchema).query(async ({ ctx, input }) => {
    const rows = await ctx.db.query.findMany({
      where: {
        researcherAddress: ctx.session.address.toLowerCase(),
        kind: { in: ["SQL", "COHORT"] },
        ...(input.datasetId ? { datasetId: input.datasetId } : {}),
      },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: input.limit + 1,
      ...(input.cursor ? { cursor: { id: input.cursor }, skip: 1 } : {}),
      select: queryColumns,
    });
    const page = rows.slice(0, input.limit);
    return {
      items: page.map((row) => {
        const { result: _result, receipt: _receipt, ...summary } = viewOf(row, ctx.chain.chainId);
        return { ...summary, receiptHash: row.status === "SUCCEEDED" ? row.receiptHash : null };
      }),
      nextCursor: rows.length > input.limit ? (page.at(-1)?.id ?? null) : null,
    };
  }),

  /**
   * Remaining privacy budget on a dataset (StandardsRegistry.epsilonBudget minus what every
   * address of the researcher's credential spent).
   */
  budget: researcherProcedure.input(queryBudgetInputSchema).query(async ({ ctx, input }) => {
    await requireDataset(ctx, input.datasetId);
    const standards = await governedStandards(ctx.db, ctx.chain.chainId);
    const researcher = await credentialAddresses(ctx, getAddress(ctx.session.address));
    const [spent, remaining] = await Promise.all([
      budgetSpent(ctx.db, researcher, input.datasetId, "query"),
      budgetRemaining(ctx.db, researcher, input.datasetId, "query", standards.epsilonBudget),
    ]);
    const accounting = queryAccounting(disclosureParams(standards));
    const spentEpsilon = fixedToEpsilon(spent.epsilon);
    return {
      datasetId: input.datasetId,
      total: standards.epsilonBudget,
      spent: spentEpsilon,
      /** Sum of the deltas of the charges (basic composition), 18-decimal fixed point read back. */
      deltaSpent: fixedToEpsilon(spent.delta),
      remaining,
      epsilonPerQuery: standards.epsilonPerQuery,
      queriesLeft: Math.floor((remaining + 1e-9) / standards.epsilonPerQuery),
      // Each query is the same share of the budget's rho: rho spent is that share of epsilon's.
      rho: {
        total: accounting.rhoBudget,
        spent: (accounting.rhoBudget * spentEpsilon) / standards.epsilonBudget,
        perQuery: accounting.rho,
      },
      conversionDelta: accounting.budgetDelta,
      mechanism: accounting.mechanism,
    };
  }),
} satisfies TRPCRouterRecord;
