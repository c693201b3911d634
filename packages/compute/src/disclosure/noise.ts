import { createHmac } from "node:crypto";

/**
 * Sticky noise (Laplace or Gaussian): the "random" draw is an HMAC of a secret and a key that names the
 * exact released number (canonical query, dataset version, consented set, parameters, group,
 * component). Asking the same question again, in any phrasing that canonicalises the same,
 * draws the same noise, so averaging repeats learns nothing.
 */
export function stickyUniform(secret: Uint8Array, key: string): number {
  return stickyUniformPair(secret, key)[0];
}

/**
 * Two independent sticky uniforms in (0, 1) from one HMAC (53 bits each, from disjoint bytes).
 */
function stickyUniformPair(secret: Uint8Array, key: string): [number, number] {
  const digest = createHmac("sha256", secret).update(key).digest();
  const at = (offset: number) =>
    ((digest.readUInt32BE(offset) >>> 5) * 2 ** 26 +
      (digest.readUInt32BE(offset + 4) >>> 6) +
      0.5) /
    2 ** 53;
  return [at(0), at(8)];
}

/** N(0, sigma^2) by Box-Muller from a sticky pair of uniforms. */
export function stickyGaussian(secret: Uint8Array, key: string, sigma: number): number {
  const [u1, u2] = stickyUniformPair(secret, key);
  return sigma * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Laplace(0, scale) by inverse CDF of a sticky uniform. */
export function stickyLaplace(secret: Uint8Array, key: string, scale: number): number {
  const u = stickyUniform(secret, key) - 0.5;
  return -scale * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}

export function roundToBase(value: number, base: number): number {
  return Math.round(value / base) * base;
}
