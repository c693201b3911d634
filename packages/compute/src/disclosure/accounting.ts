import type { NoiseMechanism } from "@opencohort/validators/accounting";

/**
 * Privacy accounting: zCDP with Gaussian noise, or Laplace where that is better. The
 * conversion and the choice live in `@opencohort/validators/accounting` (shared with the web,
 * which shows what a budget buys); this module adds the noise distributions.
 */
export {
  BUDGET_DELTA,
  epsilonFromRho,
  type NoiseMechanism,
  type QueryAccounting,
  queryAccounting,
  rhoFromEpsilonDelta,
} from "@opencohort/validators/accounting";

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
