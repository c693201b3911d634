/**
 * The bytes of QueryInclusionSet.bitmap: the private record of which persons a query
 * included, as Roaring bitmaps (CRoaring through the `roaring` package). Two formats share a
 * header (magic "OCIB", OpenCohort Inclusion Bitmap, then a little-endian uint16 version):
 *
 * Version 2, `EnrolmentOrdinalSet`, what queries write: the ordinals (Enrolment.ordinal,
 * 1, 2, 3… per dataset) of the enrolments whose persons were included.
 *
 *   offset  size  field
 *   0       4     magic "OCIB"
 *   4       2     format version (2)
 *   6       4     byte length L of the bitmap that follows
 *   10      L     RoaringBitmap32 of the ordinals, in the portable Roaring format (the format
 *                 every Roaring implementation reads). Nothing may follow it.
 *
 * Ordinals are dense (1..N for N enrolments), so a set costs at most about N/8 bytes plus
 * ~8 bytes per 2^16 ordinals whatever the number included, and a few bytes when the
 * included ordinals form runs. `person_id`s need not be dense (OMOP leaves them to the
 * source; the synthetic generator spreads 40-bit pseudonyms), which is why sets are not kept
 * over them.
 *
 * Version 1, `PersonIdSet`, what databases held before ordinals: the 64-bit person ids
 * themselves, read only to convert them (src/inclusions-conversion.ts). Roaring bitmaps hold
 * 32-bit values, so a 64-bit id is split as a "treemap": one RoaringBitmap32 of the low 32
 * bits per distinct high 32 bits. Ids are stored as their unsigned two's-complement value
 * (BigInt.asUintN(64, id)), so negative ids round-trip too.
 *
 *   offset  size  field
 *   0       4     magic "OCIB"
 *   4       2     format version (1)
 *   6       4     number of groups G
 *   then G times, by strictly ascending high bits:
 *           4     high 32 bits of the ids in this group
 *           4     byte length L of the bitmap that follows
 *           L     RoaringBitmap32 of the low 32 bits, portable format (non-empty)
 *
 * Its size: ids dense in a range cost at most one bit each; ids scattered over a space much
 * wider than the dataset (one per 2^16 chunk) cost ~10 bytes each.
 */
import roaring from "roaring";

const { RoaringBitmap32 } = roaring;
type Bitmap32 = InstanceType<typeof RoaringBitmap32>;

const MAGIC = Buffer.from("OCIB", "latin1");
/** Version 1: person ids (before ordinals). */
export const PERSON_ID_SET_VERSION = 1;
/** Version 2: enrolment ordinals. */
export const ORDINAL_SET_VERSION = 2;
const HEADER_BYTES = 10;
const GROUP_HEADER_BYTES = 8;

/** Bytes that are not an inclusion bitmap this code can read (truncated, altered, unknown). */
export class InclusionBitmapError extends Error {
  override name = "InclusionBitmapError";
  constructor(reason: string) {
    super(`Not a valid inclusion bitmap: ${reason}.`);
  }
}

/** Little-endian machines only (every platform Node ships for): ids are read as two uint32s. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The format version of inclusion-set bytes; throws InclusionBitmapError when they are not
 * inclusion-set bytes at all.
 */
export function inclusionBitmapVersion(bytes: Uint8Array): number {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < HEADER_BYTES) throw new InclusionBitmapError("shorter than its header");
  if (!buffer.subarray(0, 4).equals(MAGIC)) throw new InclusionBitmapError("wrong magic bytes");
  return buffer.readUInt16LE(4);
}

/** A set of enrolment ordinals (format version 2, see the module comment). */
export class EnrolmentOrdinalSet {
  private constructor(private readonly bitmap: Bitmap32) {}

  /** The set of `ordinals` (positive integers below 2^32; duplicates collapse). */
  static of(ordinals: Iterable<number> | Uint32Array): EnrolmentOrdinalSet {
    const values = ordinals instanceof Uint32Array ? ordinals : Uint32Array.from(ordinals);
    const bitmap = new RoaringBitmap32(values);
    // Runs: a query that includes a whole stretch of enrolments costs a few bytes.
    bitmap.runOptimize();
    return new EnrolmentOrdinalSet(bitmap);
  }

  /** Reads bytes written by `toBytes`; throws InclusionBitmapError on anything else. */
  static fromBytes(bytes: Uint8Array): EnrolmentOrdinalSet {
    const version = inclusionBitmapVersion(bytes);
    if (version !== ORDINAL_SET_VERSION) {
      throw new InclusionBitmapError(
        version === PERSON_ID_SET_VERSION
          ? "a set of person ids (version 1) not yet converted to ordinals"
          : `format version ${version} is not supported`,
      );
    }
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const length = buffer.readUInt32LE(6);
    if (HEADER_BYTES + length !== buffer.length) {
      throw new InclusionBitmapError(
        HEADER_BYTES + length > buffer.length
          ? "the bitmap is truncated"
          : "unexpected trailing bytes",
      );
    }
    let bitmap: Bitmap32;
    try {
      bitmap = RoaringBitmap32.deserialize(buffer.subarray(HEADER_BYTES), "portable");
    } catch {
      throw new InclusionBitmapError("not a portable Roaring bitmap");
    }
    // CRoaring accepts trailing bytes after a bitmap: its length must be exact here.
    if (bitmap.getSerializationSizeInBytes("portable") !== length) {
      throw new InclusionBitmapError("the bitmap has a wrong length");
    }
    return new EnrolmentOrdinalSet(bitmap);
  }

  /** Format version 2 (see the module comment). */
  toBytes(): Buffer<ArrayBuffer> {
    const length = this.bitmap.getSerializationSizeInBytes("portable");
    // Not Buffer.concat: it may return a slice of Node's shared pool (see PersonIdSet.toBytes).
    const bytes = Buffer.alloc(HEADER_BYTES + length);
    MAGIC.copy(bytes, 0);
    bytes.writeUInt16LE(ORDINAL_SET_VERSION, 4);
    bytes.writeUInt32LE(length, 6);
    bytes.set(this.bitmap.serialize("portable"), HEADER_BYTES);
    return bytes;
  }

  get size(): number {
    return this.bitmap.size;
  }

  has(ordinal: number): boolean {
    return this.bitmap.has(ordinal);
  }

  /** The ordinals in both sets. */
  intersection(other: EnrolmentOrdinalSet): EnrolmentOrdinalSet {
    return new EnrolmentOrdinalSet(RoaringBitmap32.and(this.bitmap, other.bitmap));
  }

  /** The ordinals, ascending. */
  toUint32Array(): Uint32Array {
    return this.bitmap.toUint32Array();
  }
}

/** A set of 64-bit person ids held as Roaring bitmaps (format version 1, see the module comment). */
export class PersonIdSet {
  /** Low-bits bitmap per high 32 bits (unsigned); never holds an empty bitmap. */
  private readonly groups: ReadonlyMap<number, Bitmap32>;

  private constructor(groups: Map<number, Bitmap32>) {
    this.groups = groups;
  }

  /** The set of `personIds` (duplicates collapse). */
  static of(personIds: Iterable<bigint> | BigInt64Array): PersonIdSet {
    const ids = personIds instanceof BigInt64Array ? personIds : BigInt64Array.from(personIds);
    if (!LITTLE_ENDIAN) throw new Error("PersonIdSet needs a little-endian machine.");
    // Each int64 as [low, high] uint32 halves: no BigInt arithmetic per id.
    const halves = new Uint32Array(ids.buffer, ids.byteOffset, ids.length * 2);
    const counts = new Map<number, number>();
    for (let i = 1; i < halves.length; i += 2) {
      const high = halves[i] as number;
      counts.set(high, (counts.get(high) ?? 0) + 1);
    }
    const lows = new Map<number, { values: Uint32Array; filled: number }>();
    for (const [high, count] of counts)
      lows.set(high, { values: new Uint32Array(count), filled: 0 });
    for (let i = 0; i < halves.length; i += 2) {
      const group = lows.get(halves[i + 1] as number) as { values: Uint32Array; filled: number };
      group.values[group.filled++] = halves[i] as number;
    }
    const groups = new Map<number, Bitmap32>();
    for (const [high, { values }] of lows) {
      const bitmap = new RoaringBitmap32(values);
      bitmap.runOptimize();
      groups.set(high, bitmap);
    }
    return new PersonIdSet(groups);
  }

  /** Reads bytes written by `toBytes`; throws InclusionBitmapError on anything else. */
  static fromBytes(bytes: Uint8Array): PersonIdSet {
    const version = inclusionBitmapVersion(bytes);
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (version !== PERSON_ID_SET_VERSION) {
      throw new InclusionBitmapError(`format version ${version} is not supported`);
    }
    const groupCount = buffer.readUInt32LE(6);
    const groups = new Map<number, Bitmap32>();
    let offset = HEADER_BYTES;
    let previousHigh = -1;
    for (let index = 0; index < groupCount; index++) {
      if (offset + GROUP_HEADER_BYTES > buffer.length) {
        throw new InclusionBitmapError(`group ${index} of ${groupCount} is missing`);
      }
      const high = buffer.readUInt32LE(offset);
      const length = buffer.readUInt32LE(offset + 4);
      offset += GROUP_HEADER_BYTES;
      if (high <= previousHigh) throw new InclusionBitmapError(`group ${index} is out of order`);
      if (offset + length > buffer.length) {
        throw new InclusionBitmapError(`group ${index} is truncated`);
      }
      const slice = buffer.subarray(offset, offset + length);
      let bitmap: Bitmap32;
      try {
        bitmap = RoaringBitmap32.deserialize(slice, "portable");
      } catch {
        throw new InclusionBitmapError(`group ${index} is not a portable Roaring bitmap`);
      }
      // CRoaring accepts trailing bytes after a bitmap: its length must be exact here.
      if (bitmap.isEmpty || bitmap.getSerializationSizeInBytes("portable") !== length) {
        throw new InclusionBitmapError(`group ${index} has a wrong length or is empty`);
      }
      groups.set(high, bitmap);
      previousHigh = high;
      offset += length;
    }
    if (offset !== buffer.length) {
      throw new InclusionBitmapError(`${buffer.length - offset} unexpected trailing bytes`);
    }
    return new PersonIdSet(groups);
  }

  /** The format above. */
  toBytes(): Buffer<ArrayBuffer> {
    const highs = [...this.groups.keys()].sort((a, b) => a - b);
    const parts: Uint8Array[] = [];
    const header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(header, 0);
    header.writeUInt16LE(PERSON_ID_SET_VERSION, 4);
    header.writeUInt32LE(highs.length, 6);
    parts.push(header);
    for (const high of highs) {
      const body = (this.groups.get(high) as Bitmap32).serialize("portable");
      const groupHeader = Buffer.alloc(GROUP_HEADER_BYTES);
      groupHeader.writeUInt32LE(high, 0);
      groupHeader.writeUInt32LE(body.length, 4);
      parts.push(groupHeader, body);
    }
    // Not Buffer.concat: it may return a slice of Node's shared pool, and a driver that
    // binds `.buffer` rather than the view would store the neighbours too.
    const bytes = Buffer.alloc(parts.reduce((total, part) => total + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      bytes.set(part, offset);
      offset += part.length;
    }
    return bytes;
  }

  get size(): number {
    let size = 0;
    for (const bitmap of this.groups.values()) size += bitmap.size;
    return size;
  }

  has(personId: bigint): boolean {
    const unsigned = BigInt.asUintN(64, personId);
    const bitmap = this.groups.get(Number(unsigned >> 32n));
    return bitmap?.has(Number(unsigned & 0xffff_ffffn)) ?? false;
  }

  /** The ids, ascending as signed int64 (the order of BIGINT person ids in SQL). */
  toBigInt64Array(): BigInt64Array {
    const ids = new BigInt64Array(this.size);
    // Written as [low, high] uint32 halves, as `of` reads them.
    const halves = new Uint32Array(ids.buffer);
    let filled = 0;
    for (const [high, bitmap] of this.groups) {
      for (const low of bitmap.toUint32Array()) {
        halves[filled++] = low;
        halves[filled++] = high;
      }
    }
    return ids.sort();
  }
}
