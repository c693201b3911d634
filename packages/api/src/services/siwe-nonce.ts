/**
 * Stateless SIWE (EIP-4361) nonces: `auth.nonce` writes nothing, so a flood of anonymous
 * calls cannot grow the database. A nonce is lower-case hex (EIP-4361 wants [a-zA-Z0-9]{8,}):
 *
 *   random (16 bytes) | expiry (uint48 seconds, big-endian) | HMAC-SHA256(secret, tag|random|expiry)[0..16]
 *
 * Verification recomputes the HMAC (constant time) and checks the expiry. A nonce is used at
 * most once because Session.nonce is unique: the second verify of one signed message finds
 * the session of the first. Session rows are therefore kept until their nonce has expired
 * too (see `purgeSessions`).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Db } from "@opencohort/db";

/** How long a nonce may wait for its signature. */
export const NONCE_TTL_MS = 10 * 60 * 1000;

const TAG = "OpenCohort.SiweNonce/1|";
const RANDOM_BYTES = 16;
const EXPIRY_BYTES = 6;
const MAC_BYTES = 16;
const NONCE_LENGTH = 2 * (RANDOM_BYTES + EXPIRY_BYTES + MAC_BYTES);

function mac(secret: string, body: Buffer): Buffer {
  return createHmac("sha256", secret).update(TAG).update(body).digest().subarray(0, MAC_BYTES);
}

export function issueNonce(secret: string, now = Date.now()): { nonce: string; expiresAt: Date } {
  const expirySeconds = Math.ceil((now + NONCE_TTL_MS) / 1000);
  const expiry = Buffer.alloc(EXPIRY_BYTES);
  expiry.writeUIntBE(expirySeconds, 0, EXPIRY_BYTES);
  const body = Buffer.concat([randomBytes(RANDOM_BYTES), expiry]);
  return {
    nonce: Buffer.concat([body, mac(secret, body)]).toString("hex"),
    expiresAt: new Date(expirySeconds * 1000),
  };
}

/** True when `nonce` was issued with `secret` and has not expired. */
export function nonceIsValid(secret: string, nonce: string, now = Date.now()): boolean {
  if (nonce.length !== NONCE_LENGTH || !/^[0-9a-f]+$/.test(nonce)) return false;
  const bytes = Buffer.from(nonce, "hex");
  const body = bytes.subarray(0, RANDOM_BYTES + EXPIRY_BYTES);
  if (!timingSafeEqual(mac(secret, body), bytes.subarray(RANDOM_BYTES + EXPIRY_BYTES))) {
    return false;
  }
  return body.readUIntBE(RANDOM_BYTES, EXPIRY_BYTES) * 1000 > now;
}

/** Rows deleted per purge: a sign-in does a bounded amount of extra work. */
export const PURGE_BATCH = 100;

/**
 * Deletes up to PURGE_BATCH expired or revoked sessions, but only those created longer ago
 * than a nonce lives: a session's nonce was issued before the session, so its nonce has
 * expired too, and deleting the row cannot let its signed message open a session again.
 * Called on every sign-in, so the table stays bounded by the sign-ins of the last session TTL.
 */
export async function purgeSessions(db: Db, now = Date.now()): Promise<number> {
  const stale = await db.session.findMany({
    where: {
      createdAt: { lt: new Date(now - NONCE_TTL_MS) },
      OR: [{ expiresAt: { lte: new Date(now) } }, { revokedAt: { not: null } }],
    },
    take: PURGE_BATCH,
    select: { id: true },
  });
  if (stale.length === 0) return 0;
  const { count } = await db.session.deleteMany({
    where: { id: { in: stale.map((session) => session.id) } },
  });
  return count;
}
