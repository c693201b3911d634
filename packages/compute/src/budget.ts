/**
 * The privacy budget is kept by the caller (the API, in its database); the engine only asks
 * to spend. `spend` must be atomic: check and deduct in one step, so that concurrent queries
 * cannot overdraw.
 */
export interface PrivacyBudgetLedger {
  spend(
    researcher: string,
    datasetId: string,
    epsilon: number,
    /** The query's delta, recorded next to epsilon (deltas add up). */
    delta?: number,
    charge?: QueryCharge,
  ): Promise<
    { ok: true; remaining: number; repeated?: boolean } | { ok: false; remaining: number }
  >;
}

/** What else the engine knows about a charge (disclosure/accounting.ts). */
export interface QueryCharge {
  /** The query's zCDP cost, for the record (the share of the budget epsilon says). */
  rho: number;
  /**
   * Names the exact answer: canonical query, dataset version, consented set, parameters and
   * researcher, keyed by the noise secret. A charge whose key was charged before (and whose
   * query succeeded) is the same answer again: the ledger answers `repeated` and charges
   * nothing. The engine hands it back with the result (`RunOutcome.repeatKey`) to be stored.
   */
  repeatKey: string;
  /** The canonical query hash, to find earlier answers with the same key. */
  queryHash: string;
}

/** A ledger in memory, for tests, the benchmark and single-process demos. */
export class InMemoryBudgetLedger implements PrivacyBudgetLedger {
  private readonly spent = new Map<string, number>();
  private readonly answered = new Set<string>();

  constructor(private readonly total: number) {}

  async spend(
    researcher: string,
    datasetId: string,
    epsilon: number,
    _delta?: number,
    charge?: QueryCharge,
  ) {
    const key = `${researcher}\u0000${datasetId}`;
    const used = this.spent.get(key) ?? 0;
    const repeatKey = charge ? `${key}\u0000${charge.repeatKey}` : undefined;
    if (repeatKey && this.answered.has(repeatKey)) {
      return { ok: true as const, remaining: Math.max(0, this.total - used), repeated: true };
    }
    // A tiny tolerance so that ten spends of 0.1 fit a budget of 1.0 despite float sums.
    if (used + epsilon > this.total + 1e-9) {
      return { ok: false as const, remaining: Math.max(0, this.total - used) };
    }
    this.spent.set(key, used + epsilon);
    if (repeatKey) this.answered.add(repeatKey);
    return { ok: true as const, remaining: Math.max(0, this.total - used - epsilon) };
  }
}
