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
 * Why the unit divides by every whole-epoch consent, enrolled or not. The unit and the posted
 * total are on chain. Were either a function of how many consents are enrolled (private), an
 * observer could read that count off the chain: rounded, it still crosses a threshold in the
 * epoch when the consent events show one identity joining, which pins the count and tells that
 * the identity is enrolled. So both are functions of public data alone: the pool and the number
 * of consents the chain shows active for the whole epoch. Enrolled identities with a payout
 * address are paid their units; the rest of the total has no leaf, nobody can claim it, and it
 * returns to the pool when the epoch's claim window ends (RewardDistributor.reclaimExpired).
 */
import type { WholeEpochConsents } from "./consent-time";

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
  /** What one consent active for the whole epoch earns: pool / public whole-epoch consents. */
  unit: bigint;
  /** Every identity's share, with the payout address it goes to (private: names datasets). */
  shares: RewardShare[];
  /** The tree's leaves, ordered by address: the sums per payout address. */
  payouts: PayoutLeaf[];
  /** The total posted with the root: the unit times the public whole-epoch consents. */
  total: bigint;
}

/**
 * Splits `pool` (the distributor's unallocated funds) over the consents active for the whole
 * epoch. Enrolled consents whose identity has no payout address get no share; like every
 * consent nobody enrolled, their unit is part of the total but of no leaf.
 */
export function splitPooled(
  pool: bigint,
  consents: WholeEpochConsents,
  payoutOf: ReadonlyMap<string, string>,
): PooledSplit {
  if (pool < 0n) throw new RangeError(`a pool cannot be negative: ${pool}`);
  const enrolled = new Map(
    consents.enrolled.map((consent) => {
      const normalized = {
        datasetId: consent.datasetId.toLowerCase(),
        identityAddress: consent.identityAddress.toLowerCase(),
      };
      return [`${normalized.datasetId}:${normalized.identityAddress}`, normalized] as const;
    }),
  );
  // Enrolled consents are on chain like any other: more of them than the chain shows means the
  // public count was not read from the whole chain, and the unit would overpay.
  if (BigInt(enrolled.size) > consents.publicCount) {
    throw new RangeError(
      `${enrolled.size} enrolled whole-epoch consents cannot exceed the ${consents.publicCount} on chain`,
    );
  }
  const none: PooledSplit = { unit: 0n, shares: [], payouts: [], total: 0n };
  if (consents.publicCount === 0n || pool === 0n) return none;
  const unit = pool / consents.publicCount;
  if (unit === 0n) return none;

  const shares: RewardShare[] = [];
  const byPayout = new Map<string, bigint>();
  for (const consent of enrolled.values()) {
    const payoutAddress = payoutOf.get(consent.identityAddress)?.toLowerCase();
    if (payoutAddress === undefined) continue;
    shares.push({ ...consent, payoutAddress, amount: unit });
    byPayout.set(payoutAddress, (byPayout.get(payoutAddress) ?? 0n) + unit);
  }
  if (shares.length === 0) return { ...none, unit };
  const payouts = [...byPayout.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([payoutAddress, amount]) => ({ payoutAddress, amount }));
  return { unit, shares, payouts, total: unit * consents.publicCount };
}
