/**
 * How one dataset's patient pool is split for one epoch. Pure bigint arithmetic: no floats,
 * no rounding that could make the posted total differ from the sum of the leaves.
 */

/** One person whose records were included in the epoch's succeeded queries. */
export interface IncludedPerson {
  /** The patient's wallet from the steward's enrolment; null when the person is not enrolled. */
  patientAddress: string | null;
  /** Succeeded queries of the epoch that included the person (the weight). */
  inclusions: number;
}

export interface PatientShare {
  patientAddress: string;
  amount: bigint;
  inclusions: number;
}

export interface PoolSplit {
  /** Non-zero shares, ordered by address. Their amounts sum to `total` exactly. */
  shares: PatientShare[];
  /** What the Merkle root allocates: the `total` posted with it. */
  total: bigint;
  /** What stays in the distributor's pool: unenrolled persons' shares and rounding. */
  unallocated: bigint;
}

/**
 * Splits `pool` among the included persons in proportion to their inclusions.
 *
 * Every person counts towards the total weight, enrolled or not, so a person without an
 * enrolment does not raise anybody else's share: their share (rounded up, by less than one
 * unit) stays unallocated in the pool. The enrolled part, floor(pool * enrolled / all), is
 * then split by largest remainder: everybody gets the floor of their exact share and the few
 * units of dust left go one each to the largest fractional parts (ties by address), so the
 * shares add up to the posted total exactly and nobody is off by more than one unit.
 */
export function splitPool(pool: bigint, persons: readonly IncludedPerson[]): PoolSplit {
  if (pool < 0n) throw new RangeError(`a pool cannot be negative: ${pool}`);
  for (const person of persons) {
    if (!Number.isSafeInteger(person.inclusions) || person.inclusions < 0)
      throw new RangeError(`inclusions must be a non-negative integer: ${person.inclusions}`);
  }
  const allWeight = persons.reduce((sum, person) => sum + BigInt(person.inclusions), 0n);

  // One leaf per wallet: merging is a no-op while enrolments are unique per dataset, and
  // keeps the tree valid (one claim per account) if that ever changes.
  const weightByPatient = new Map<string, number>();
  for (const person of persons) {
    if (person.patientAddress === null || person.inclusions === 0) continue;
    const address = person.patientAddress.toLowerCase();
    weightByPatient.set(address, (weightByPatient.get(address) ?? 0) + person.inclusions);
  }
  const enrolledWeight = [...weightByPatient.values()].reduce((sum, w) => sum + BigInt(w), 0n);
  if (pool === 0n || enrolledWeight === 0n) return { shares: [], total: 0n, unallocated: pool };

  const distributable = (pool * enrolledWeight) / allWeight;
  const exact = [...weightByPatient.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([patientAddress, inclusions]) => {
      const numerator = distributable * BigInt(inclusions);
      return {
        patientAddress,
        inclusions,
        amount: numerator / enrolledWeight,
        remainder: numerator % enrolledWeight,
      };
    });
  let dust = distributable - exact.reduce((sum, share) => sum + share.amount, 0n);
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
    .map(({ patientAddress, amount, inclusions }) => ({ patientAddress, amount, inclusions }));
  return { shares, total: distributable, unallocated: pool - distributable };
}
