import { describe, expect, it } from "vitest";
import {
  BUDGET_DELTA,
  epsilonFromRho,
  normalUpperTail,
  queryAccounting,
  rhoFromEpsilonDelta,
} from "./accounting";

const governed = { minCellSize: 11, roundingBase: 5, contributionCap: 10 };

describe("zCDP accounting", () => {
  it("converts a total (epsilon, delta) to rho exactly and back", () => {
    for (const epsilon of [0.1, 1, 5, 10, 50]) {
      const rho = rhoFromEpsilonDelta(epsilon, BUDGET_DELTA);
      expect(epsilonFromRho(rho, BUDGET_DELTA)).toBeCloseTo(epsilon, 10);
    }
    // (5, 1e-6): rho = (sqrt(5 + ln 1e6) - sqrt(ln 1e6))^2.
    expect(rhoFromEpsilonDelta(5, 1e-6)).toBeCloseTo(0.385346, 6);
  });

  it("gives every query of the default budget its share of rho, with Gaussian noise", () => {
    const a = queryAccounting({ ...governed, epsilonPerQuery: 0.1, epsilonBudget: 5 });
    expect(a.mechanism).toBe("gaussian");
    expect(a.rho * 50).toBeCloseTo(a.rhoBudget, 12);
    // All fifty together: exactly the governed (5, 1e-6).
    expect(epsilonFromRho(50 * a.rho, BUDGET_DELTA)).toBeCloseTo(5, 10);
    expect(a.budgetDelta).toBe(BUDGET_DELTA);
  });

  it("keeps Laplace where it is better: a budget of one or a few queries", () => {
    // One query only: Laplace at epsilon (sd sqrt 2 / 0.1 = 14) beats the Gaussian (sd 53).
    const single = queryAccounting({ ...governed, epsilonPerQuery: 0.1 });
    expect(single.mechanism).toBe("laplace");
    expect(single.rho).toBeCloseTo(0.005, 12);
    expect(single.budgetDelta).toBe(0);
    // Ten queries of 0.5 out of 5: still Laplace; fifty of 0.1: Gaussian.
    expect(queryAccounting({ ...governed, epsilonPerQuery: 0.5, epsilonBudget: 5 }).mechanism).toBe(
      "laplace",
    );
  });

  it("computes the normal tail to the precision deltas need", () => {
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 7);
    expect(normalUpperTail(1.959963984540054)).toBeCloseTo(0.025, 7);
    // Q(4.753424) = 1e-6, Q(6) = 9.866e-10: relative error well below 1e-5.
    expect(normalUpperTail(4.753424308822899) / 1e-6).toBeCloseTo(1, 5);
    expect(normalUpperTail(6) / 9.865876450377e-10).toBeCloseTo(1, 5);
  });
});
