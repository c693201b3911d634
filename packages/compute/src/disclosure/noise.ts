import { createHmac } from "node:crypto";

/**
 * Sticky Laplace noise: the "random" draw is an HMAC of a secret and a key that names the
 * exact released number (canonical query, dataset version, consented set, parameters, group,
 * component). Asking the same question again, in any phrasing that canonicalises the same,
 * draws the same noise, so averaging repeats learns nothing.
 */
export function stickyUniform(secret: Uint8Array, key: string): number {
  const digest = createHmac("sha256", secret).update(key).digest();
  // 53 random bits -> (0, 1), never exactly 0 or 1.
  const high = digest.readUInt32BE(0) >>> 5; // 27 bits
  const low = digest.readUInt32BE(4) >>> 6; // 26 bits
  return (high * 2 ** 26 + low + 0.5) / 2 ** 53;
}

/** Laplace(0, scale) by inverse CDF of a sticky uniform. */
export function stickyLaplace(secret: Uint8Array, key: string, scale: number): number {
  const u = stickyUniform(secret, key) - 0.5;
  return -scale * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}

export function roundToBase(value: number, base: number): number {
  return Math.round(value / base) * base;
}
