/**
 * How an epoch's rewards are split: one pool for every dataset, one unit per consent that was
 * active for the whole epoch, one leaf per payout address. Pure bigint arithmetic.
 *
 * Why pooled and whole epochs. A payout is public once claimed and names only its payout
 * address, which may be the patient's everyday wallet. If a dataset's pool were split inside
 * the dataset (by consent time, as before), every dataset would pay its own public rate per
 * consent-second: an observer who knows a wallet could find which sum of dataset rates its
 * payout equals, and consent events give each identity's exact seconds, so a payout for a part
 * of an epoch would point at the one identity that opted in at that second. Here every counted
 * consent earns the same unit, whichever dataset, so a payout tells only how many consents it
 * sums. No dust goes to anyone in particular either: the remainder of the division stays in the
 * pool, where an extra wei given "to the lowest address" would have pointed at an identity.
 *
 * The total posted with the root is padded to a rounded count of units, so it does not tell
 * how many consents were paid; the padding has no leaf, nobody can claim it, and it returns
 * to the pool when the epoch's claim window ends (RewardDistributor.reclaimExpired).
 */
import type { ConsentWeight } from "./consent-time";

/** Paid consents are rounded up to a multiple of this before the total is posted. */
export const PAID_CONSENT_ROUNDING = 10n;

/** One dataset's consent weights, from consent-time.ts. */
export interface DatasetConsents {
  datasetId: string;
  weights: readonly ConsentWeight[];
}

export interface RewardShare {
  datasetId: string;
  identityAddress: string;
  payoutAddress: string;
  amount: bigint;
}

export interface PayoutLeaf {
  payoutAddress: string;
  amount: bigint;
}

export interface PooledSplit {
  /** What one consent active for the whole epoch earns. */
  unit: bigint;
  /** Every identity's share, with the payout address it goes to (private: names datasets). */
  shares: RewardShare[];
  /** The tree's leaves, ordered by address: the sums per payout address. */
  payouts: PayoutLeaf[];
  /** The total posted with the root: leaves' sum padded to a rounded count of units. */
  total: bigint;
}

const roundUp = (count: bigint, base: bigint) => ((count + base - 1n) / base) * base;

/**
 * Splits `pool` (the distributor's unallocated funds) over the consents active for the whole
 * window of `windowSeconds`. Consents whose identity has no payout address count in the
 * division (their unit stays in the pool for later epochs) but get no share.
 */
export function splitPooled(
  pool: bigint,
  windowSeconds: bigint,
  datasets: readonly DatasetConsents[],
  payoutOf: ReadonlyMap<string, string>,
  rounding: bigint = PAID_CONSENT_ROUNDING,
): PooledSplit {
  if (pool < 0n) throw new RangeError(`a pool cannot be negative: ${pool}`);
  if (rounding < 1n) throw new RangeError(`rounding must be at least 1: ${rounding}`);
  const none: PooledSplit = { unit: 0n, shares: [], payouts: [], total: 0n };
  if (windowSeconds <= 0n) return none;
  const counted: { datasetId: string; identityAddress: string }[] = [];
  const seen = new Set<string>();
  for (const { datasetId, weights } of datasets) {
    for (const weight of weights) {
      if (weight.consentSeconds > windowSeconds) {
        throw new RangeError(
          `consent of ${weight.consentSeconds} s cannot exceed the epoch's ${windowSeconds} s`,
        );
      }
      const key = `${datasetId}:${weight.identityAddress.toLowerCase()}`;
      if (weight.consentSeconds !== windowSeconds || seen.has(key)) continue;
      seen.add(key);
      counted.push({ datasetId, identityAddress: weight.identityAddress.toLowerCase() });
    }
  }
  if (counted.length === 0 || pool === 0n) return none;
  const unit = pool / roundUp(BigInt(counted.length), rounding);
  if (unit === 0n) return none;

  const shares: RewardShare[] = [];
  const byPayout = new Map<string, bigint>();
  for (const consent of counted) {
    const payoutAddress = payoutOf.get(consent.identityAddress)?.toLowerCase();
    if (payoutAddress === undefined) continue;
    shares.push({ ...consent, payoutAddress, amount: unit });
    byPayout.set(payoutAddress, (byPayout.get(payoutAddress) ?? 0n) + unit);
  }
  if (shares.length === 0) return { ...none, unit };
  const payouts = [...byPayout.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([payoutAddress, amount]) => ({ payoutAddress, amount }));
  const total = unit * roundUp(BigInt(shares.length), rounding);
  return { unit, shares, payouts, total };
}
