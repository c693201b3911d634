/**
 * The privacy budget kept in the database (PrivacyBudgetEntry rows), behind compute's
 * PrivacyBudgetLedger interface.
 *
 * Two budgets per dataset, told apart by the kind of the Query a charge belongs to:
 * - "query": the governed budget (StandardsRegistry.epsilonBudget) per (researcher, dataset),
 *   spent by SQL and COHORT queries (and by any entry without a query);
 * - "feasibility": ONE budget per dataset (all versions), shared by every caller, spent by the
 *   free, noisy feasibility counts of `dataset.feasibility` (Query rows of kind FEASIBILITY).
 *   It is shared because addresses are free: a budget per address would give a sybil
 *   unlimited fresh noisy samples. Feasibility counts never eat into the budget a researcher
 *   paid for.
 *
 * Each charge records epsilon and delta. Epsilon is charged as the query's share of the budget:
 * compute's zCDP accounting (disclosure/accounting.ts) gives each query the same share of the
 * budget's rho, so epsilon spent / budget is exactly rho spent / rho of the budget; deltas add
 * up. Every charge names its query (`queryId` is unique), so a retried execution is charged
 * once, and an identical repeat of a query that succeeded (same repeat key: canonical query,
 * dataset version, consented set, parameters, researcher) is not charged at all. Check and charge
 * happen in one serializable transaction (retried on a write conflict), so concurrent
 * queries cannot overdraw.
 */
import type { PrivacyBudgetLedger, QueryCharge } from "@opencohort/compute";
import { type Db, type Prisma, toDbUint } from "@opencohort/db";
import { formatUnits } from "viem";

export type BudgetKind = "query" | "feasibility";

/**
 * Epsilon all callers together may spend on feasibility counts of one dataset: 100 distinct
 * counts at 0.1 (feasibilityParams' cap). Repeating a count already answered costs nothing
 * (services/feasibility.ts), so honest browsing does not burn it. ApiConfig may override it.
 */
export const FEASIBILITY_EPSILON_BUDGET = 10;

/** Float sums of epsilons (0.1 + 0.1 + ...) are compared with this tolerance, like compute's. */
const TOLERANCE = 1_000_000_000n; // 1e-9 epsilon

/** An epsilon as 18-decimal fixed point (the schema's epsilon columns), to 1e-12 (epsilons come from 18-decimal chain values). */
export function epsilonToFixed(epsilon: number): bigint {
  if (!Number.isFinite(epsilon) || epsilon < 0) throw new RangeError(`bad epsilon ${epsilon}`);
  return BigInt(Math.round(epsilon * 1e12)) * 1_000_000n;
}

export function fixedToEpsilon(value: bigint): number {
  return Number(formatUnits(value, 18));
}

/**
 * A delta as 18-decimal fixed point. Deltas are small (1e-6 .. 1e-12), so they are scaled
 * directly rather than through epsilon's 1e-12 rounding, which would erase them.
 */
export function deltaToFixed(delta: number): bigint {
  if (!Number.isFinite(delta) || delta < 0 || delta > 1) throw new RangeError(`bad delta ${delta}`);
  return BigInt(Math.round(delta * 1e18));
}

/**
 * The address, or every address of one researcher's credential (services/accreditation.ts
 * `credentialAddresses`): query budgets are kept per credential.
 */
export type BudgetHolder = string | readonly string[];

const holderAddresses = (holder: BudgetHolder): string[] =>
  (typeof holder === "string" ? [holder] : [...holder]).map((address) => address.toLowerCase());

/**
 * Whose entries a budget sums: the query charges of every address of the researcher's
 * credential, or every caller's feasibility charges on the dataset (researcher ignored: the
 * budget is shared).
 */
function scopeFilter(
  kind: BudgetKind,
  researcher: BudgetHolder,
  datasetId: string,
): Prisma.PrivacyBudgetEntryWhereInput {
  return kind === "feasibility"
    ? { datasetId, query: { is: { kind: "FEASIBILITY" } } }
    : {
        datasetId,
        researcherAddress: { in: holderAddresses(researcher) },
        OR: [{ queryId: null }, { query: { is: { kind: { not: "FEASIBILITY" } } } }],
      };
}

type Reader = Db | Prisma.TransactionClient;

/** Epsilon and delta spent so far (18-decimal fixed point) in one budget (see scopeFilter). */
export async function budgetSpent(
  db: Reader,
  researcher: BudgetHolder,
  datasetId: string,
  kind: BudgetKind,
): Promise<{ epsilon: bigint; delta: bigint }> {
  const entries = await db.privacyBudgetEntry.findMany({
    where: scopeFilter(kind, researcher, datasetId),
    select: { epsilon: true, delta: true },
  });
  return entries.reduce(
    (sum, entry) => ({
      epsilon: sum.epsilon + BigInt(entry.epsilon),
      delta: sum.delta + (entry.delta === null ? 0n : BigInt(entry.delta)),
    }),
    { epsilon: 0n, delta: 0n },
  );
}

/** Epsilon spent so far (18-decimal fixed point) in one budget (see scopeFilter). */
export async function epsilonSpent(
  db: Reader,
  researcher: BudgetHolder,
  datasetId: string,
  kind: BudgetKind,
): Promise<bigint> {
  return (await budgetSpent(db, researcher, datasetId, kind)).epsilon;
}

/** What is left of a budget of `totalEpsilon`, as a number (never negative). */
export async function budgetRemaining(
  db: Reader,
  researcher: BudgetHolder,
  datasetId: string,
  kind: BudgetKind,
  totalEpsilon: number,
): Promise<number> {
  const left = epsilonToFixed(totalEpsilon) - (await epsilonSpent(db, researcher, datasetId, kind));
  return left > 0n ? fixedToEpsilon(left) : 0;
}

export interface DbBudgetLedgerOptions {
  /** The Query row the charge belongs to (its kind picks the budget). */
  queryId: string;
  kind: BudgetKind;
  /** The budget, in epsilon (e.g. the governed epsilonBudget, or FEASIBILITY_EPSILON_BUDGET). */
  totalEpsilon: number;
  /** The other addresses of the researcher's credential, whose charges share the budget. */
  sharedWith?: readonly string[];
}

const MAX_ATTEMPTS = 5;

/**
 * Whether this researcher's query with the same repeat key succeeded before (the key is stored
 * in the query's parameters by query-execution.ts). Narrowed by the indexed query hash first.
 */
async function answeredBefore(
  tx: Prisma.TransactionClient,
  researcherAddress: string,
  datasetId: string,
  charged: QueryCharge,
): Promise<boolean> {
  const candidates = await tx.query.findMany({
    where: {
      researcherAddress,
      datasetId,
      queryHash: charged.queryHash.toLowerCase(),
      status: "SUCCEEDED",
      kind: { not: "FEASIBILITY" },
    },
    select: { parameters: true },
  });
  return candidates.some(
    (row) => (row.parameters as { repeatKey?: unknown } | null)?.repeatKey === charged.repeatKey,
  );
}

/** A ledger that charges one query: hand it to compute.run for that query. */
export function createDbBudgetLedger(db: Db, options: DbBudgetLedgerOptions): PrivacyBudgetLedger {
  const total = epsilonToFixed(options.totalEpsilon);
  const remainingOf = (spent: bigint) => (spent >= total ? 0 : fixedToEpsilon(total - spent));
  return {
    async spend(researcher, datasetId, epsilon, delta, charged) {
      const charge = epsilonToFixed(epsilon);
      const deltaCharge = delta === undefined ? null : deltaToFixed(delta);
      const researcherAddress = researcher.toLowerCase();
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.$transaction(
            async (tx) => {
              const holder = [researcherAddress, ...(options.sharedWith ?? [])];
              const spent = await epsilonSpent(tx, holder, datasetId, options.kind);
              const already = await tx.privacyBudgetEntry.findUnique({
                where: { queryId: options.queryId },
                select: { id: true },
              });
              // A retried execution of the same query was charged the first time.
              if (already) return { ok: true as const, remaining: remainingOf(spent) };
              if (
                charged &&
                options.kind === "query" &&
                (await answeredBefore(tx, researcherAddress, datasetId, charged))
              ) {
                return { ok: true as const, remaining: remainingOf(spent), repeated: true };
              }
              if (spent + charge > total + TOLERANCE) {
                return { ok: false as const, remaining: remainingOf(spent) };
              }
              await tx.privacyBudgetEntry.create({
                data: {
                  researcherAddress,
                  datasetId,
                  epsilon: toDbUint(charge),
                  delta: deltaCharge === null ? null : toDbUint(deltaCharge),
                  queryId: options.queryId,
                },
                select: { id: true },
              });
              return { ok: true as const, remaining: remainingOf(spent + charge) };
            },
            { isolationLevel: "Serializable" },
          );
        } catch (error) {
          // P2034: write conflict or deadlock (PostgreSQL serializable); try again.
          const code = (error as { code?: unknown }).code;
          if (code !== "P2034" || attempt >= MAX_ATTEMPTS) throw error;
        }
      }
    },
  };
}
