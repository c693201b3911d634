/**
 * How one dataset's patient pool is split for one epoch. Pure bigint arithmetic: no floats,
 * no rounding that could make the posted total differ from the sum of the leaves.
 */

/** An enrolled patient and how long their consent was active in the epoch (consent-time.ts). */
export interface PatientWeight {
  /** The patient's address from the steward's enrolment: the leaf that can be claimed. */
  patientAddress: string;
  /** Seconds of the epoch the patient's consent to the dataset was active (the weight). */
  consentSeconds: bigint;
}

export interface PatientShare {
  patientAddress: string;
  amount: bigint;
  consentSeconds: bigint;
}

export interface PoolSplit {
  /** Non-zero shares, ordered by address. Their amounts sum to `total` exactly. */
  shares: PatientShare[];
  /** What the Merkle root allocates: the `total` posted with it. */
  total: bigint;
}

/**
 * Splits `pool` among the patients in proportion to their consent seconds.
 *
 * Only enrolled patients are given (consent-time.ts): the whole pool is split among them, and
 * nothing is held back for anybody else. The split is by largest remainder: everybody gets
 * the floor of their exact share and the few units of dust left go one each to the largest
 * fractional parts (ties by address), so the shares add up to the posted total exactly and
 * nobody is off by more than one unit. With no weight at all (nobody consented) nothing is
 * allocated and the pool stays unallocated in the distributor.
 */
export function splitPool(pool: bigint, weights: readonly PatientWeight[]): PoolSplit {
  if (pool < 0n) throw new RangeError(`a pool cannot be negative: ${pool}`);
  for (const weight of weights) {
    if (weight.consentSeconds < 0n)
      throw new RangeError(`consent seconds cannot be negative: ${weight.consentSeconds}`);
  }

  // One leaf per address: merging is a no-op while enrolments are unique per dataset, and
  // keeps the tree valid (one claim per account) if that ever changes.
  const weightByPatient = new Map<string, bigint>();
  for (const weight of weights) {
    if (weight.consentSeconds === 0n) continue;
    const address = weight.patientAddress.toLowerCase();
    weightByPatient.set(address, (weightByPatient.get(address) ?? 0n) + weight.consentSeconds);
  }
  const allWeight = [...weightByPatient.values()].reduce((sum, w) => sum + w, 0n);
  if (pool === 0n || allWeight === 0n) return { shares: [], total: 0n };

  const exact = [...weightByPatient.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([patientAddress, consentSeconds]) => {
      const numerator = pool * consentSeconds;
      return {
        patientAddress,
        consentSeconds,
        amount: numerator / allWeight,
        remainder: numerator % allWeight,
      };
    });
  let dust = pool - exact.reduce((sum, share) => sum + share.amount, 0n);
  const byRemainder = [...exact].sort((a, b) =>
    a.remainder === b.remainder
      ? a.patientAddress < b.patientAddress
        ? -1
        : 1
      : a.remainder > b.remainder
        ? -1
        : 1,
  );
  for (const share of byRemainder) {
    if (dust === 0n) break;
    share.amount += 1n;
    dust -= 1n;
  }
  const shares = exact
    .filter((share) => share.amount > 0n)
    .map(({ patientAddress, amount, consentSeconds }) => ({
      patientAddress,
      amount,
      consentSeconds,
    }));
  return { shares, total: pool };
}
