import { describe, expect, it } from "vitest";
import {
  EnrolmentOrdinalSet,
  InclusionBitmapError,
  inclusionBitmapVersion,
  ORDINAL_SET_VERSION,
  PERSON_ID_SET_VERSION,
  PersonIdSet,
} from "./inclusion-bitmap";

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

/** A deterministic pseudo-random share of 1..n (xorshift32), ascending. */
function sample(n: number, share: number, seed = 7): Uint32Array {
  let state = seed;
  const picked: number[] = [];
  for (let ordinal = 1; ordinal <= n; ordinal++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    if ((state >>> 0) / 2 ** 32 < share) picked.push(ordinal);
  }
  return Uint32Array.from(picked);
}

describe("EnrolmentOrdinalSet bytes", () => {
  it("round-trips ordinals, answers membership and intersects", () => {
    const ordinals = [7, 1, 65_536, 65_537, 2 ** 31 + 5, 1];
    const set = EnrolmentOrdinalSet.fromBytes(EnrolmentOrdinalSet.of(ordinals).toBytes());
    expect([...set.toUint32Array()]).toEqual([1, 7, 65_536, 65_537, 2 ** 31 + 5]);
    expect(set.size).toBe(5);
    expect(set.has(65_537)).toBe(true);
    expect(set.has(2)).toBe(false);
    const both = set.intersection(EnrolmentOrdinalSet.of([7, 8, 2 ** 31 + 5]));
    expect([...both.toUint32Array()]).toEqual([7, 2 ** 31 + 5]);
    const empty = EnrolmentOrdinalSet.fromBytes(EnrolmentOrdinalSet.of([]).toBytes());
    expect(empty.size).toBe(0);
    expect(inclusionBitmapVersion(EnrolmentOrdinalSet.of([]).toBytes())).toBe(ORDINAL_SET_VERSION);
  });

  it("costs at most one bit per enrolment however many of them a query includes", () => {
    const enrolled = 1_000_000;
    // One 8 KiB container per 2^16 ordinals at most, plus headers.
    const bound = Math.ceil(enrolled / 65_536) * (8_192 + 8) + 64;
    const sizes = [0.001, 0.05, 0.5, 0.9, 0.999].map(
      (share) => EnrolmentOrdinalSet.of(sample(enrolled, share)).toBytes().length,
    );
    for (const size of sizes) expect(size).toBeLessThanOrEqual(bound);
    // Every enrolment included (a count over everyone consented): one run per container.
    const everyone = Uint32Array.from({ length: enrolled }, (_, i) => i + 1);
    expect(EnrolmentOrdinalSet.of(everyone).toBytes().length).toBeLessThan(300);
  });

  it("refuses corrupt input and sets of person ids not yet converted", () => {
    const good = EnrolmentOrdinalSet.of([3, 9, 70_000]).toBytes();
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, 8), /shorter than its header/],
      [Buffer.concat([Buffer.from("XCIB"), good.subarray(4)]), /wrong magic/],
      [good.subarray(0, good.length - 1), /truncated/],
      [Buffer.concat([good, Buffer.from([0])]), /unexpected trailing bytes/],
      [PersonIdSet.of([3n]).toBytes(), /person ids \(version 1\) not yet converted/],
    ];
    const brokenCookie = Buffer.from(good);
    brokenCookie[10] = 0xff;
    cases.push([brokenCookie, /not a portable Roaring bitmap/]);
    for (const [bytes, message] of cases) {
      expect(() => EnrolmentOrdinalSet.fromBytes(bytes)).toThrow(InclusionBitmapError);
      expect(() => EnrolmentOrdinalSet.fromBytes(bytes)).toThrow(message);
    }
  });
});

describe("PersonIdSet bytes (format 1, read to convert)", () => {
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
    expect(bytes.readUInt16LE(4)).toBe(PERSON_ID_SET_VERSION);
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
