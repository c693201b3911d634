import { describe, expect, it } from "vitest";
import { splitPooled } from "./pooled";

const id = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;
const D1 = `0x${"d1".repeat(32)}`;
const D2 = `0x${"d2".repeat(32)}`;
const D3 = `0x${"d3".repeat(32)}`;
const WINDOW = 100n;
const whole = (n: number) => ({ identityAddress: id(n), consentSeconds: WINDOW });

describe("the pooled epoch split", () => {
  it("pays every whole-epoch consent the same unit, whichever dataset, summed per payout address", () => {
    // Wallet A's identities 1 (D1) and 2 (D2) both pay to A; B's identity 3 (D3) to B.
    const payoutOf = new Map([
      [id(1), id(0xa)],
      [id(2), id(0xa)],
      [id(3), id(0xb)],
    ]);
    const split = splitPooled(
      1_000n,
      WINDOW,
      [
        { datasetId: D1, weights: [whole(1)] },
        { datasetId: D2, weights: [whole(2)] },
        { datasetId: D3, weights: [whole(3)] },
      ],
      payoutOf,
      1n,
    );
    expect(split.unit).toBe(333n);
    expect(split.payouts).toEqual([
      { payoutAddress: id(0xa), amount: 666n },
      { payoutAddress: id(0xb), amount: 333n },
    ]);
    expect(split.shares.map((share) => [share.datasetId, share.amount])).toEqual([
      [D1, 333n],
      [D2, 333n],
      [D3, 333n],
    ]);
    // The division's remainder stays in the pool: no identity gets an extra wei.
    expect(split.total).toBe(999n);
  });

  it("counts only consents active for the whole epoch", () => {
    const split = splitPooled(
      1_000n,
      WINDOW,
      [{ datasetId: D1, weights: [whole(1), { identityAddress: id(2), consentSeconds: 99n }] }],
      new Map([
        [id(1), id(0xa)],
        [id(2), id(0xb)],
      ]),
      1n,
    );
    expect(split.payouts).toEqual([{ payoutAddress: id(0xa), amount: 1_000n }]);
  });

  it("keeps the unit of a consent without a payout address in the pool", () => {
    const split = splitPooled(
      1_000n,
      WINDOW,
      [{ datasetId: D1, weights: [whole(1), whole(2)] }],
      new Map([[id(1), id(0xa)]]),
      1n,
    );
    expect(split.unit).toBe(500n);
    expect(split.payouts).toEqual([{ payoutAddress: id(0xa), amount: 500n }]);
    expect(split.total).toBe(500n);
  });

  it("pads the posted total to a rounded count of units, within the pool", () => {
    const weights = [1, 2, 3].map(whole);
    const payoutOf = new Map(weights.map((w, i) => [w.identityAddress, id(0xa0 + i)]));
    const split = splitPooled(1_000n, WINDOW, [{ datasetId: D1, weights }], payoutOf, 10n);
    // Three consents, rounded to ten: the unit is a tenth of the pool and the total all of it.
    expect(split.unit).toBe(100n);
    expect(split.payouts.reduce((sum, leaf) => sum + leaf.amount, 0n)).toBe(300n);
    expect(split.total).toBe(1_000n);
    // The same split for 3 or 7 paid consents posts the same total.
    const seven = [1, 2, 3, 4, 5, 6, 7].map(whole);
    const sevenPayouts = new Map(seven.map((w, i) => [w.identityAddress, id(0xa0 + i)]));
    expect(
      splitPooled(1_000n, WINDOW, [{ datasetId: D1, weights: seven }], sevenPayouts, 10n).total,
    ).toBe(split.total);
  });

  it("pays nothing without whole-epoch consent, pool or payout address", () => {
    const payoutOf = new Map([[id(1), id(0xa)]]);
    expect(
      splitPooled(0n, WINDOW, [{ datasetId: D1, weights: [whole(1)] }], payoutOf).payouts,
    ).toEqual([]);
    expect(splitPooled(1_000n, WINDOW, [{ datasetId: D1, weights: [] }], payoutOf).payouts).toEqual(
      [],
    );
    expect(
      splitPooled(1_000n, WINDOW, [{ datasetId: D1, weights: [whole(2)] }], payoutOf).total,
    ).toBe(0n);
    expect(() =>
      splitPooled(
        1n,
        WINDOW,
        [{ datasetId: D1, weights: [{ identityAddress: id(1), consentSeconds: 101n }] }],
        payoutOf,
      ),
    ).toThrow(RangeError);
  });
});
