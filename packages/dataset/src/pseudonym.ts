import { createHmac } from "node:crypto";

/** A steward secret shorter than this is refused: pseudonyms must not be guessable. */
export const MIN_SECRET_BYTES = 16;

/**
 * A stable pseudonym for a source person id, keyed by the steward's secret: the same source id
 * and secret give the same person_id in every import (so versions line up with enrolments),
 * while without the secret nobody can go from a source id to its pseudonym or back.
 * 62 bits of HMAC-SHA256: positive as a BIGINT, and a collision among 10^7 persons has
 * probability about 10^-5 (checked at import anyway).
 */
export function pseudonymizer(secret: string | Uint8Array): (sourceId: string) => bigint {
  const key = typeof secret === "string" ? Buffer.from(secret, "utf8") : Buffer.from(secret);
  if (key.length < MIN_SECRET_BYTES) {
    throw new Error(`the steward secret needs at least ${MIN_SECRET_BYTES} bytes`);
  }
  return (sourceId) => {
    const digest = createHmac("sha256", key).update(`opencohort-person\u0000${sourceId}`).digest();
    return digest.readBigUInt64BE(0) >> 2n;
  };
}
