import { describe, expect, it } from "vitest";
import { countPrecision, queryAccounting } from "./accounting";

describe("countPrecision", () => {
  it("tells the precision of counts at the governed defaults from the Gaussian share of rho", () => {
    const rows = countPrecision({ epsilonPerQuery: 0.1, epsilonBudget: 5, roundingBase: 5 });
    const sigma = Math.sqrt(
      1 / (2 * queryAccounting({ epsilonPerQuery: 0.1, epsilonBudget: 5 }).rho),
    );
    const person200 = rows.find((r) => r.level === "person" && r.persons === 200);
    expect(person200?.sd).toBeCloseTo(sigma, 9);
    expect(person200?.sd).toBeCloseTo(8.05, 2);
    expect(person200?.halfWidth95).toBeCloseTo(1.96 * sigma + 2.5, 2);
    // The median |N(0, sigma)| over 200: 2.7%, as the accuracy bench measures.
    expect(person200?.typicalRelativeError).toBeCloseTo((0.6745 * sigma) / 200, 4);
    const event = rows.find((r) => r.level === "event" && r.persons === 200);
    expect(event?.sd).toBeCloseTo(Math.sqrt(5) * sigma, 9);
  });

  it("uses Laplace where the budget is one query, and gets worse with a smaller epsilon", () => {
    const single = countPrecision({ epsilonPerQuery: 0.5, epsilonBudget: 0.5, roundingBase: 5 });
    expect(single[0]?.sd).toBeCloseTo((Math.SQRT2 * 1) / 0.5, 9);
    const [loose, strict] = [0.1, 0.05].map(
      (epsilonPerQuery) =>
        countPrecision({ epsilonPerQuery, epsilonBudget: 5, roundingBase: 5 })[1]?.sd ?? 0,
    );
    expect(strict).toBeGreaterThan(loose as number);
  });
});
