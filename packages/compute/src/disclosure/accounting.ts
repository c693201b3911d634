import type { DisclosureParams } from "@opencohort/validators";

/**
 * Privacy accounting: zero-concentrated DP (zCDP, Bun and Steinke 2016) with Gaussian noise,
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

export function queryAccounting(params: DisclosureParams): QueryAccounting {
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

/** The noise of one released component: Laplace scale b, or Gaussian standard deviation. */
export interface Noise {
  mechanism: NoiseMechanism;
  /** Laplace: the scale b. Gaussian: sigma. */
  scale: number;
}

export function noiseSd(noise: Noise): number {
  return noise.mechanism === "laplace" ? noise.scale * Math.SQRT2 : noise.scale;
}

/** Two-sided 1 - alpha quantiles of the standard normal for the alphas used here. */
const NORMAL_QUANTILE: Record<string, number> = {
  "0.05": 1.959963984540054,
  "0.025": 2.241402727604947,
};

/** The t with P(|noise| > t) = alpha (alpha 0.05 or 0.025). */
export function noiseHalfWidth(noise: Noise, alpha: 0.05 | 0.025): number {
  if (noise.mechanism === "laplace") return noise.scale * Math.log(1 / alpha);
  return noise.scale * (NORMAL_QUANTILE[String(alpha)] as number);
}

/** P(noise >= x) for x >= 0. */
export function noiseUpperTail(noise: Noise, x: number): number {
  if (noise.mechanism === "laplace") return Math.exp(-x / noise.scale) / 2;
  return normalUpperTail(x / noise.scale);
}

/**
 * P(Z >= z) of a standard normal, z >= 0: erfc(z / sqrt 2) / 2 by the Chebyshev fit of
 * Numerical Recipes (erfcc, relative error below 1.2e-7 everywhere), enough for deltas.
 */
export function normalUpperTail(z: number): number {
  const x = z / Math.SQRT2;
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const poly =
    -x * x -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t *
                          (-1.13520398 +
                            t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * Math.exp(poly);
  return (x >= 0 ? erfc : 2 - erfc) / 2;
}
