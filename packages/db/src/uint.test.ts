import { describe, expect, it } from "vitest";
import { DB_UINT_DIGITS, fromDbUint, toDbUint } from "./uint";

describe("uint columns", () => {
  const max = (1n << 256n) - 1n;

  it("round-trips any uint256 without loss", () => {
    for (const value of [0n, 1n, 10n ** 18n, 2n ** 64n - 1n, max]) {
      const stored = toDbUint(value);
      expect(stored).toHaveLength(DB_UINT_DIGITS);
      expect(fromDbUint(stored)).toBe(value);
      expect(BigInt(stored)).toBe(value);
    }
    expect(toDbUint("1500000000000000000")).toBe(toDbUint(15n * 10n ** 17n));
    expect(toDbUint(42)).toBe(toDbUint(42n));
  });

  it("sorts as strings in numeric order", () => {
    const values = [max, 0n, 10n, 9n, 10n ** 30n, 2n ** 64n];
    const byString = values.map(toDbUint).sort();
    expect(byString.map(fromDbUint)).toEqual(
      [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  });

  it("refuses what is not a uint256", () => {
    expect(() => toDbUint(-1n)).toThrow(RangeError);
    expect(() => toDbUint(max + 1n)).toThrow(RangeError);
    expect(() => toDbUint(2 ** 60)).toThrow(RangeError);
    expect(() => toDbUint("1e18")).toThrow(RangeError);
    expect(() => fromDbUint("-5")).toThrow(RangeError);
  });
});
