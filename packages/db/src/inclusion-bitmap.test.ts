import { describe, expect, it } from "vitest";
import { INCLUSION_BITMAP_VERSION, InclusionBitmapError, PersonIdSet } from "./inclusion-bitmap";

const ascending = (ids: Iterable<bigint>) =>
  [...new Set(ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** Ids around every boundary the treemap splits on: 2^32, 2^53, int64 extremes, negatives. */
const EDGE_IDS = [
  -(2n ** 63n),
  -(2n ** 32n) - 1n,
  -1n,
  0n,
  1n,
  2n ** 32n - 1n,
  2n ** 32n,
  2n ** 32n + 1n,
  2n ** 53n + 1n,
  2n ** 53n + 3n,
  2n ** 63n - 1n,
];

const roundTrip = (ids: Iterable<bigint>) => [
  ...PersonIdSet.fromBytes(PersonIdSet.of(ids).toBytes()).toBigInt64Array(),
];

describe("PersonIdSet bytes", () => {
  it("round-trips ids across the 32-bit split, int64 extremes and negatives, ascending", () => {
    const ids = [...EDGE_IDS].reverse();
    expect(roundTrip(ids)).toEqual(ascending(ids));
    const set = PersonIdSet.fromBytes(PersonIdSet.of(ids).toBytes());
    for (const id of EDGE_IDS) expect(set.has(id)).toBe(true);
    for (const id of [2n, 2n ** 32n + 2n, -2n, 2n ** 53n]) expect(set.has(id)).toBe(false);
    expect(set.size).toBe(EDGE_IDS.length);
  });

  it("round-trips a million dense ids and many sparse ones, collapsing duplicates", () => {
    const dense = BigInt64Array.from({ length: 1_000_000 }, (_, i) => BigInt(i + 1));
    const read = PersonIdSet.fromBytes(PersonIdSet.of(dense).toBytes()).toBigInt64Array();
    // Compared as bytes: a deep equality over a million bigints takes seconds.
    expect(Buffer.from(read.buffer).equals(Buffer.from(dense.buffer))).toBe(true);
    // Synthetic pseudonyms: 13-digit ids spread over 2^40 (many groups, one id per chunk).
    const sparse = Array.from(
      { length: 5_000 },
      (_, i) => 1_000_000_000_000n + BigInt(i) * 219_902_323n,
    );
    expect(roundTrip([...sparse, ...sparse.slice(0, 10)])).toEqual(sparse);
  });

  it("stores the empty set as the bare header", () => {
    const bytes = PersonIdSet.of([]).toBytes();
    expect(bytes).toHaveLength(10);
    expect(bytes.subarray(0, 4).toString("latin1")).toBe("OCIB");
    expect(bytes.readUInt16LE(4)).toBe(INCLUSION_BITMAP_VERSION);
    const empty = PersonIdSet.fromBytes(bytes);
    expect(empty.size).toBe(0);
    expect(empty.has(0n)).toBe(false);
    expect([...empty.toBigInt64Array()]).toEqual([]);
  });

  it("costs at most about one bit per id of a dense range, however many are included", () => {
    const range = BigInt64Array.from({ length: 1_000_000 }, (_, i) => BigInt(i + 1));
    const everyOther = BigInt64Array.from({ length: 500_000 }, (_, i) => BigInt(2 * i + 1));
    // One 8 KiB bitmap per 2^16 ids at most, or a few runs when the range is full.
    expect(PersonIdSet.of(range).toBytes().length).toBeLessThan(300);
    expect(PersonIdSet.of(everyOther).toBytes().length).toBeLessThan(16 * 8_192 + 300);
  });

  it("intersects with another set, group by group", () => {
    const a = PersonIdSet.of([1n, 2n, 3n, 2n ** 40n, 2n ** 40n + 5n, -7n]);
    const b = PersonIdSet.of([2n, 2n ** 40n + 5n, -7n, 99n]);
    expect([...a.intersection(b).toBigInt64Array()]).toEqual([-7n, 2n, 2n ** 40n + 5n]);
    expect(a.intersection(PersonIdSet.of([])).size).toBe(0);
  });

  it("refuses corrupt input with an InclusionBitmapError naming what is wrong", () => {
    const good = PersonIdSet.of([5n, 2n ** 33n, 2n ** 34n]).toBytes();
    const altered = (at: number, value: number) => {
      const copy = Buffer.from(good);
      copy[at] = value;
      return copy;
    };
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, 6), /shorter than its header/],
      [altered(0, 0x58), /wrong magic/],
      [altered(4, 9), /version 9 is not supported/],
      [good.subarray(0, good.length - 1), /truncated/],
      [Buffer.concat([good, Buffer.from([0])]), /1 unexpected trailing bytes/],
      [altered(6, 7), /group 3 of 7 is missing/],
      // The second group's high bits made lower than the first's.
      [altered(good.readUInt32LE(14) + 18, 0), /out of order/],
      // The first group's Roaring cookie broken.
      [altered(18, 0xff), /not a portable Roaring bitmap/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => PersonIdSet.fromBytes(bytes)).toThrow(InclusionBitmapError);
      expect(() => PersonIdSet.fromBytes(bytes)).toThrow(message);
    }
    // A group claiming more bytes than its bitmap takes (the next group's header swallowed).
    const padded = Buffer.from(good);
    padded.writeUInt32LE(good.readUInt32LE(14) + 8, 14);
    expect(() => PersonIdSet.fromBytes(padded)).toThrow(InclusionBitmapError);
  });
});
