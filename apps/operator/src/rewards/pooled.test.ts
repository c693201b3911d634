import { describe, expect, it } from "vitest";
import type { EnrolledConsent } from "./consent-time";
import { splitPooled } from "./pooled";

const id = (n: number) => `0x${n.toString(16).padStart(40, "0")}`;
const D1 = `0x${"d1".repeat(32)}`;
const D2 = `0x${"d2".repeat(32)}`;
const D3 = `0x${"d3".repeat(32)}`;
const enrolled = (datasetId: string, n: number): EnrolledConsent => ({
  datasetId,
  identityAddress: id(n),
});

describe("the pooled epoch split", () => {
  it("pays every enrolled whole-epoch consent the same unit, whichever dataset, summed per payout address", () => {
    // Wallet A's identities 1 (D1) and 2 (D2) both pay to A; B's identity 3 (D3) to B.
    const payoutOf = new Map([
      [id(1), id(0xa)],
      [id(2), id(0xa)],
      [id(3), id(0xb)],
    ]);
    const split = splitPooled(
      1_000n,
      { publicCount: 3n, enrolled: [enrolled(D1, 1), enrolled(D2, 2), enrolled(D3, 3)] },
      payoutOf,
    );
    expect(split.unit).toBe(1_000n / 3n);
    expect(split.payouts).toEqual([
      { payoutAddress: id(0xa), amount: 2n * split.unit },
      { payoutAddress: id(0xb), amount: split.unit },
    ]);
    expect(split.shares.map((share) => [share.datasetId, share.amount])).toEqual([
      [D1, split.unit],
      [D2, split.unit],
      [D3, split.unit],
    ]);
    // The division's remainder stays in the pool: no identity gets an extra wei.
    expect(split.total).toBe(3n * split.unit);
    expect(split.total).toBeLessThan(1_000n);
  });

  it("divides by every whole-epoch consent on chain and posts the unit times that count", () => {
    const pool = 1_000n;
    const publicCount = 7n;
    const split = splitPooled(
      pool,
      { publicCount, enrolled: [enrolled(D1, 1), enrolled(D1, 2)] },
      new Map([
        [id(1), id(0xa)],
        [id(2), id(0xb)],
      ]),
    );
    expect(split.unit).toBe(pool / publicCount);
    expect(split.payouts.reduce((sum, leaf) => sum + leaf.amount, 0n)).toBe(2n * split.unit);
    // The five consents nobody enrolled are in the total, in no leaf.
    expect(split.total).toBe(publicCount * split.unit);
  });

  it("posts the same unit and total however many of the public consents are enrolled and paid", () => {
    const pool = 1_000_003n;
    const publicCount = 11n;
    const payoutOf = new Map(
      Array.from({ length: 11 }, (_, n) => [id(n + 1), id(0xa0 + n)] as const),
    );
    const figures = new Set(
      [0, 1, 3, 10, 11].map((paid) => {
        const consents = Array.from({ length: paid }, (_, n) => enrolled(D1, n + 1));
        const split = splitPooled(pool, { publicCount, enrolled: consents }, payoutOf);
        expect(split.payouts).toHaveLength(paid);
        return `${split.unit}/${paid === 0 ? "-" : split.total}`;
      }),
    );
    expect(figures).toEqual(
      new Set([`${pool / publicCount}/-`, `${pool / publicCount}/${(pool / publicCount) * 11n}`]),
    );
  });

  it("keeps the unit of an enrolled consent without a payout address out of every leaf", () => {
    const split = splitPooled(
      1_000n,
      { publicCount: 2n, enrolled: [enrolled(D1, 1), enrolled(D1, 2)] },
      new Map([[id(1), id(0xa)]]),
    );
    expect(split.unit).toBe(500n);
    expect(split.payouts).toEqual([{ payoutAddress: id(0xa), amount: 500n }]);
    expect(split.total).toBe(1_000n);
  });

  it("pays nothing without whole-epoch consent, pool or payout address", () => {
    const payoutOf = new Map([[id(1), id(0xa)]]);
    const one = { publicCount: 1n, enrolled: [enrolled(D1, 1)] };
    expect(splitPooled(0n, one, payoutOf).payouts).toEqual([]);
    expect(splitPooled(1_000n, { publicCount: 0n, enrolled: [] }, payoutOf).payouts).toEqual([]);
    expect(splitPooled(1_000n, { publicCount: 1n, enrolled: [enrolled(D1, 2)] }, payoutOf)).toEqual(
      { unit: 1_000n, shares: [], payouts: [], total: 0n },
    );
    // A pool smaller than the count is a zero unit: nothing is paid, all of it stays.
    expect(splitPooled(2n, { publicCount: 3n, enrolled: [enrolled(D1, 1)] }, payoutOf).total).toBe(
      0n,
    );
  });

  it("refuses more enrolled consents than the chain shows (a public count read short)", () => {
    expect(() =>
      splitPooled(
        1_000n,
        { publicCount: 1n, enrolled: [enrolled(D1, 1), enrolled(D2, 1)] },
        new Map([[id(1), id(0xa)]]),
      ),
    ).toThrow(RangeError);
    expect(() =>
      splitPooled(-1n, { publicCount: 1n, enrolled: [] }, new Map<string, string>()),
    ).toThrow(RangeError);
  });
});
