import { describe, expect, it } from "vitest";
import { type IncludedPerson, splitPool } from "./split";

const A = "0xaaaa000000000000000000000000000000000001";
const B = "0xbbbb000000000000000000000000000000000002";
const C = "0xcccc000000000000000000000000000000000003";

const amounts = (persons: IncludedPerson[], pool: bigint) =>
  Object.fromEntries(splitPool(pool, persons).shares.map((s) => [s.patientAddress, s.amount]));

describe("splitting a dataset's pool among included persons", () => {
  it("weights shares by inclusions", () => {
    const split = splitPool(1_000n, [
      { patientAddress: A, inclusions: 1 },
      { patientAddress: B, inclusions: 3 },
    ]);
    expect(split).toEqual({
      shares: [
        { patientAddress: A, amount: 250n, inclusions: 1 },
        { patientAddress: B, amount: 750n, inclusions: 3 },
      ],
      total: 1_000n,
      unallocated: 0n,
    });
  });

  it("gives the dust to the largest remainders, so the shares sum to the total exactly", () => {
    // Exact shares 10·1/7 = 1.43, 10·2/7 = 2.86, 10·4/7 = 5.71: floors 1, 2, 5 leave 2 units,
    // which go to the two largest fractions (B's .86 and C's .71).
    const persons = [
      { patientAddress: C, inclusions: 4 },
      { patientAddress: A, inclusions: 1 },
      { patientAddress: B, inclusions: 2 },
    ];
    expect(amounts(persons, 10n)).toEqual({ [A]: 1n, [B]: 3n, [C]: 6n });
    expect(splitPool(10n, persons).total).toBe(10n);
  });

  it("breaks equal remainders by address, so the split is deterministic", () => {
    const persons = [C, B, A].map((patientAddress) => ({ patientAddress, inclusions: 1 }));
    expect(amounts(persons, 100n)).toEqual({ [A]: 34n, [B]: 33n, [C]: 33n });
  });

  it("leaves out patients whose share rounds to nothing (no zero leaves)", () => {
    const persons = [A, B, C].map((patientAddress) => ({ patientAddress, inclusions: 1 }));
    expect(splitPool(2n, persons)).toEqual({
      shares: [
        { patientAddress: A, amount: 1n, inclusions: 1 },
        { patientAddress: B, amount: 1n, inclusions: 1 },
      ],
      total: 2n,
      unallocated: 0n,
    });
  });

  it("keeps an unenrolled person's share unallocated instead of giving it to others", () => {
    const split = splitPool(900n, [
      { patientAddress: A, inclusions: 1 },
      { patientAddress: null, inclusions: 2 },
    ]);
    expect(split.shares).toEqual([{ patientAddress: A, amount: 300n, inclusions: 1 }]);
    expect(split.total).toBe(300n);
    expect(split.unallocated).toBe(600n);
  });

  it("rounds the unenrolled part in the pool's favour, never above the pool", () => {
    // 10 · 2/3 = 6.67: the enrolled get 6, one unit more than exact stays in the pool.
    const split = splitPool(10n, [
      { patientAddress: A, inclusions: 1 },
      { patientAddress: B, inclusions: 1 },
      { patientAddress: null, inclusions: 1 },
    ]);
    expect(split.total).toBe(6n);
    expect(split.unallocated).toBe(4n);
    expect(split.shares.map((s) => s.amount)).toEqual([3n, 3n]);
  });

  it("pays nothing without inclusions, without enrolled persons or without a pool", () => {
    expect(splitPool(1_000n, [])).toEqual({ shares: [], total: 0n, unallocated: 1_000n });
    expect(splitPool(1_000n, [{ patientAddress: A, inclusions: 0 }])).toEqual({
      shares: [],
      total: 0n,
      unallocated: 1_000n,
    });
    expect(splitPool(1_000n, [{ patientAddress: null, inclusions: 5 }])).toEqual({
      shares: [],
      total: 0n,
      unallocated: 1_000n,
    });
    expect(splitPool(0n, [{ patientAddress: A, inclusions: 5 }]).total).toBe(0n);
  });

  it("merges two persons mapped to one wallet into one leaf", () => {
    const split = splitPool(90n, [
      { patientAddress: A, inclusions: 1 },
      { patientAddress: A.toUpperCase().replace("0X", "0x"), inclusions: 2 },
    ]);
    expect(split.shares).toEqual([{ patientAddress: A, amount: 90n, inclusions: 3 }]);
  });

  it("is exact at uint256 scale", () => {
    const pool = (1n << 255n) + 12_345n;
    const split = splitPool(pool, [
      { patientAddress: A, inclusions: 3 },
      { patientAddress: B, inclusions: 7 },
      { patientAddress: C, inclusions: 11 },
    ]);
    expect(split.shares.reduce((sum, s) => sum + s.amount, 0n)).toBe(pool);
  });

  it("holds its invariants over many random pools and weights", () => {
    let seed = 42;
    const random = (below: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % below;
    };
    for (let round = 0; round < 500; round += 1) {
      const persons: IncludedPerson[] = Array.from({ length: 1 + random(20) }, (_, i) => ({
        patientAddress: random(5) === 0 ? null : `0x${(i + 1).toString(16).padStart(40, "0")}`,
        inclusions: random(6),
      }));
      const pool = BigInt(random(1_000_000)) * BigInt(1 + random(1_000));
      const split = splitPool(pool, persons);
      const allWeight = BigInt(persons.reduce((sum, p) => sum + p.inclusions, 0));
      expect(split.shares.reduce((sum, s) => sum + s.amount, 0n)).toBe(split.total);
      expect(split.total + split.unallocated).toBe(pool);
      for (const share of split.shares) {
        expect(share.amount).toBeGreaterThan(0n);
        // Within one unit of the exact share (plus the floor of the enrolled part).
        const exactFloor = (pool * BigInt(share.inclusions)) / allWeight;
        expect(share.amount >= exactFloor - 1n && share.amount <= exactFloor + 1n).toBe(true);
      }
    }
  });

  it("refuses negative pools and fractional inclusions", () => {
    expect(() => splitPool(-1n, [])).toThrow(RangeError);
    expect(() => splitPool(1n, [{ patientAddress: A, inclusions: 1.5 }])).toThrow(RangeError);
  });
});
