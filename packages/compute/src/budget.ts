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
    /** The query's delta, recorded next to epsilon (basic composition: deltas add up). */
    delta?: number,
  ): Promise<{ ok: true; remaining: number } | { ok: false; remaining: number }>;
}

/** A ledger in memory, for tests, the benchmark and single-process demos. */
export class InMemoryBudgetLedger implements PrivacyBudgetLedger {
  private readonly spent = new Map<string, number>();

  constructor(private readonly total: number) {}

  async spend(researcher: string, datasetId: string, epsilon: number) {
    const key = `${researcher}\u0000${datasetId}`;
    const used = this.spent.get(key) ?? 0;
    // A tiny tolerance so that ten spends of 0.1 fit a budget of 1.0 despite float sums.
    if (used + epsilon > this.total + 1e-9) {
      return { ok: false as const, remaining: Math.max(0, this.total - used) };
    }
    this.spent.set(key, used + epsilon);
    return { ok: true as const, remaining: Math.max(0, this.total - used - epsilon) };
  }
}
