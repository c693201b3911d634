/**
 * Unsigned integers that may not fit int64 (token amounts, epsilons, uint64 nonces) are
 * stored as TEXT: the decimal value zero-padded to 78 digits, enough for any uint256.
 * Fixed width makes string order equal numeric order, so SQL can sort, compare and take
 * min/max on both SQLite and PostgreSQL. Read back with `BigInt(column)` or `fromDbUint`.
 */
export const DB_UINT_DIGITS = 78;

const UINT256_MAX = (1n << 256n) - 1n;

/** Encodes a uint (bigint, or a decimal string) for a uint TEXT column. */
export function toDbUint(value: bigint | number | string): string {
  const n = typeof value === "bigint" ? value : parseUint(value);
  if (n < 0n || n > UINT256_MAX) throw new RangeError(`not a uint256: ${n}`);
  return n.toString().padStart(DB_UINT_DIGITS, "0");
}

/** Decodes a uint TEXT column. */
export function fromDbUint(column: string): bigint {
  if (!/^\d+$/.test(column)) throw new RangeError(`not a stored uint: ${JSON.stringify(column)}`);
  return BigInt(column);
}

function parseUint(value: number | string): bigint {
  if (typeof value === "number") {
    // A JS number above 2^53 has already lost digits; refuse rather than store a wrong amount.
    if (!Number.isSafeInteger(value)) throw new RangeError(`not a safe integer: ${value}`);
    return BigInt(value);
  }
  if (!/^\d+$/.test(value)) throw new RangeError(`not a decimal uint: ${JSON.stringify(value)}`);
  return BigInt(value);
}
