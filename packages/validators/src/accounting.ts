/**
 * Privacy accounting (zod-free: the web imports `@opencohort/validators/accounting` to show
 * the precision a budget buys; compute's disclosure/accounting.ts draws the noise from it).
 *
 * Zero-concentrated DP (zCDP, Bun and Steinke 2016) with Gaussian noise,
 * governed in (epsilon, delta).
 *
 * Governance sets a total epsilon per researcher and dataset (`epsilonBudget`) and a cost per
 * query (`epsilonPerQuery`): a researcher gets epsilonBudget / epsilonPerQuery queries. The
 * total is converted exactly to a zCDP budget at BUDGET_DELTA:
 *
 *   rho_total = (sqrt(epsilon + L) - sqrt(L))^2,  L = ln(1 / delta)
 *
 * the inverse of the standard conversion "rho-zCDP implies (rho + 2 sqrt(rho L), delta)-DP"
 * (Bun and Steinke, Proposition 1.3). Each query gets the same share of it,
 *
 *   rho_query = rho_total * epsilonPerQuery / epsilonBudget,
 *
 * and zCDP composes by adding rho: after every query of the budget the researcher's whole
 * view is rho_total-zCDP, i.e. exactly (epsilonBudget, BUDGET_DELTA)-DP; after fewer, less.
 * Since the share is linear, the ledger can keep counting epsilonPerQuery per query against
 * epsilonBudget: spent / budget is exactly rho spent / rho_total. The delta of data-partition
 * thresholds (control.ts) adds to BUDGET_DELTA (approximate zCDP composes deltas by addition).
 *
 * Gaussian noise is not always better: for one query alone (a budget of one query), Laplace
 * at epsilon has a smaller standard deviation than the Gaussian the converted rho allows. The
 * mechanism is chosen from the governed parameters alone (so every query of one budget uses
 * the same one): Gaussian when its sd at sensitivity 1, 1 / sqrt(2 rho_query), is below
 * Laplace's sqrt(2) / epsilonPerQuery; then the accounting above. Otherwise Laplace at
 * epsilonPerQuery with basic composition (epsilons add; (epsilonBudget, 0)-DP in all), as
 * before issue #14. Without `epsilonBudget` a query is accounted as its own budget (Laplace).
 */

/** The delta at which a zCDP budget is converted to and from (epsilon, delta). */
export const BUDGET_DELTA = 1e-6;

/** The largest rho with rho + 2 sqrt(rho ln(1/delta)) <= epsilon. */
export function rhoFromEpsilonDelta(epsilon: number, delta: number): number {
  const l = Math.log(1 / delta);
  return (Math.sqrt(epsilon + l) - Math.sqrt(l)) ** 2;
}

/** The epsilon at `delta` that rho-zCDP implies: rho + 2 sqrt(rho ln(1/delta)). */
export function epsilonFromRho(rho: number, delta: number): number {
  return rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
}

export type NoiseMechanism = "laplace" | "gaussian";

export interface QueryAccounting {
  mechanism: NoiseMechanism;
  /** What the query is charged against the epsilon budget (its share of it). */
  epsilon: number;
  /**
   * The query's zCDP cost: its share of the budget's rho (Gaussian), or epsilon^2 / 2 (a
   * pure epsilon-DP query is that much zCDP, Bun and Steinke Proposition 1.4).
   */
  rho: number;
  /** The budget's total rho at BUDGET_DELTA (Gaussian), or the sum of the queries' rho. */
  rhoBudget: number;
  /** The delta the budget's conversion costs on top of the queries' own: BUDGET_DELTA or 0. */
  budgetDelta: number;
}

/** The governed parameters the accounting reads (a subset of DisclosureParams). */
export interface AccountingParams {
  epsilonPerQuery: number;
  epsilonBudget?: number | undefined;
}

export function queryAccounting(params: AccountingParams): QueryAccounting {
  const epsilon = params.epsilonPerQuery;
  const budget = Math.max(params.epsilonBudget ?? epsilon, epsilon);
  const rhoBudget = rhoFromEpsilonDelta(budget, BUDGET_DELTA);
  const rho = (rhoBudget * epsilon) / budget;
  // Gaussian sd 1/sqrt(2 rho) < Laplace sd sqrt(2)/epsilon  <=>  rho > epsilon^2 / 4.
  if (rho > (epsilon * epsilon) / 4) {
    return { mechanism: "gaussian", epsilon, rho, rhoBudget, budgetDelta: BUDGET_DELTA };
  }
  const laplaceRho = (epsilon * epsilon) / 2;
  return {
    mechanism: "laplace",
    epsilon,
    rho: laplaceRho,
    rhoBudget: (laplaceRho * budget) / epsilon,
    budgetDelta: 0,
  };
}

/**
 * How precise a released count of `persons` will be under the given standards, before it is
 * run: the noise sd of a count(DISTINCT person_id) alone (person-level: grouped by person
 * properties; event-level: grouped by codes, a person in up to `groupsPerPerson` groups), the
 * 95% half-width (noise and half the rounding step) and the typical (median) relative error.
 */
export interface CountPrecision {
  persons: number;
  level: "person" | "event";
  sd: number;
  /** The true count is within released value -/+ this, 95% of the time. */
  halfWidth95: number;
  /** Median |error| / persons: half the released counts are closer than this. */
  typicalRelativeError: number;
}

/** Median of |N(0,1)| and of |Laplace(1)|, and their 95% quantiles. */
const NORMAL_MEDIAN_ABS = 0.6744897501960817;
const NORMAL_95 = 1.959963984540054;

export function countPrecision(
  standards: AccountingParams & { roundingBase: number },
  sizes: number[] = [50, 200, 1_000, 10_000],
  groupsPerPerson = 5,
): CountPrecision[] {
  const accounting = queryAccounting(standards);
  return (["person", "event"] as const).flatMap((level) => {
    const groups = level === "person" ? 1 : groupsPerPerson;
    const gaussian = accounting.mechanism === "gaussian";
    // One component of sensitivity 1 (control.ts noiseScales).
    const scale = gaussian ? Math.sqrt(groups / (2 * accounting.rho)) : groups / accounting.epsilon;
    const sd = gaussian ? scale : scale * Math.SQRT2;
    const half95 =
      (gaussian ? scale * NORMAL_95 : scale * Math.log(20)) + standards.roundingBase / 2;
    const medianAbs = gaussian ? scale * NORMAL_MEDIAN_ABS : scale * Math.LN2;
    return sizes.map((persons) => ({
      persons,
      level,
      sd,
      halfWidth95: half95,
      typicalRelativeError: medianAbs / persons,
    }));
  });
}
