import { describe, expect, it } from "vitest";
import { type PatientWeight, splitPool } from "./split";

const A = "0xaaaa000000000000000000000000000000000001";
const B = "0xbbbb000000000000000000000000000000000002";
const C = "0xcccc000000000000000000000000000000000003";

const amounts = (weights: PatientWeight[], pool: bigint) =>
  Object.fromEntries(splitPool(pool, weights).shares.map((s) => [s.patientAddress, s.amount]));

describe("splitting a dataset's pool by consent time", () => {
  it("weights shares by consent seconds and allocates the whole pool", () => {
    const split = splitPool(1_000n, [
      { patientAddress: A, consentSeconds: 60n },
      { patientAddress: B, consentSeconds: 180n },
    ]);
    expect(split).toEqual({
      shares: [
        { patientAddress: A, amount: 250n, consentSeconds: 60n },
        { patientAddress: B, amount: 750n, consentSeconds: 180n },
      ],
      total: 1_000n,
    });
  });

  it("pays equal consent time equally, whoever else is in the split", () => {
    const weights = [A, B, C].map((patientAddress) => ({ patientAddress, consentSeconds: 300n }));
    expect(amounts(weights, 900n)).toEqual({ [A]: 300n, [B]: 300n, [C]: 300n });
  });

  it("gives the dust to the largest remainders, so the shares sum to the total exactly", () => {
    // Exact shares 10·1/7 = 1.43, 10·2/7 = 2.86, 10·4/7 = 5.71: floors 1, 2, 5 leave 2 units,
    // which go to the two largest fractions (B's .86 and C's .71).
    const weights = [
      { patientAddress: C, consentSeconds: 4n },
      { patientAddress: A, consentSeconds: 1n },
      { patientAddress: B, consentSeconds: 2n },
    ];
    expect(amounts(weights, 10n)).toEqual({ [A]: 1n, [B]: 3n, [C]: 6n });
    expect(splitPool(10n, weights).total).toBe(10n);
  });

  it("breaks equal remainders by address, so the split is deterministic", () => {
    const weights = [C, B, A].map((patientAddress) => ({ patientAddress, consentSeconds: 7n }));
    expect(amounts(weights, 100n)).toEqual({ [A]: 34n, [B]: 33n, [C]: 33n });
  });

  it("leaves out patients whose share rounds to nothing (no zero leaves)", () => {
    const weights = [A, B, C].map((patientAddress) => ({ patientAddress, consentSeconds: 1n }));
    expect(splitPool(2n, weights)).toEqual({
      shares: [
        { patientAddress: A, amount: 1n, consentSeconds: 1n },
        { patientAddress: B, amount: 1n, consentSeconds: 1n },
      ],
      total: 2n,
    });
  });

  it("pays nothing without consent time or without a pool", () => {
    expect(splitPool(1_000n, [])).toEqual({ shares: [], total: 0n });
    expect(splitPool(1_000n, [{ patientAddress: A, consentSeconds: 0n }])).toEqual({
      shares: [],
      total: 0n,
    });
    expect(splitPool(0n, [{ patientAddress: A, consentSeconds: 5n }]).total).toBe(0n);
  });

  it("merges two weights of one address (any case) into one leaf", () => {
    const split = splitPool(90n, [
      { patientAddress: A, consentSeconds: 10n },
      { patientAddress: A.toUpperCase().replace("0X", "0x"), consentSeconds: 20n },
    ]);
    expect(split.shares).toEqual([{ patientAddress: A, amount: 90n, consentSeconds: 30n }]);
  });

  it("is exact at uint256 scale", () => {
    const pool = (1n << 255n) + 12_345n;
    const split = splitPool(pool, [
      { patientAddress: A, consentSeconds: 3n },
      { patientAddress: B, consentSeconds: 7n },
      { patientAddress: C, consentSeconds: 11n },
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
      const weights: PatientWeight[] = Array.from({ length: 1 + random(20) }, (_, i) => ({
        patientAddress: `0x${(i + 1).toString(16).padStart(40, "0")}`,
        consentSeconds: BigInt(random(4) === 0 ? 0 : random(86_400)),
      }));
      const pool = BigInt(random(1_000_000)) * BigInt(1 + random(1_000));
      const split = splitPool(pool, weights);
      const allWeight = weights.reduce((sum, w) => sum + w.consentSeconds, 0n);
      expect(split.shares.reduce((sum, s) => sum + s.amount, 0n)).toBe(split.total);
      expect(split.total).toBe(allWeight === 0n ? 0n : pool);
      expect(new Set(split.shares.map((s) => s.patientAddress)).size).toBe(split.shares.length);
      for (const share of split.shares) {
        expect(share.amount).toBeGreaterThan(0n);
        // Within one unit of the exact share.
        const exactFloor = (pool * share.consentSeconds) / allWeight;
        expect(share.amount === exactFloor || share.amount === exactFloor + 1n).toBe(true);
      }
    }
  });

  it("refuses negative pools and negative consent time", () => {
    expect(() => splitPool(-1n, [])).toThrow(/a pool cannot be negative/);
    expect(() => splitPool(1n, [{ patientAddress: A, consentSeconds: -1n }])).toThrow(
      /consent seconds cannot be negative/,
    );
  });
});
