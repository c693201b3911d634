import { describe, expect, it } from "vitest";
import { roundToBase, stickyLaplace, stickyUniform } from "./noise";

const secret = Buffer.from("unit-test-secret-0123456789");

describe("sticky noise", () => {
  it("is a pure function of secret and key", () => {
    expect(stickyLaplace(secret, "q|g|persons", 2)).toBe(stickyLaplace(secret, "q|g|persons", 2));
    expect(stickyLaplace(secret, "q|g|persons", 2)).not.toBe(stickyLaplace(secret, "q|g|rows", 2));
    expect(stickyLaplace(secret, "q|g|persons", 2)).not.toBe(
      stickyLaplace(Buffer.from("another-secret-0123456789"), "q|g|persons", 2),
    );
  });

  it("draws uniforms strictly inside (0, 1)", () => {
    for (let i = 0; i < 2000; i++) {
      const u = stickyUniform(secret, `k${i}`);
      expect(u).toBeGreaterThan(0);
      expect(u).toBeLessThan(1);
    }
  });

  it("has the Laplace shape: mean 0, mean absolute deviation = scale", () => {
    const scale = 3;
    const draws = Array.from({ length: 20_000 }, (_, i) =>
      stickyLaplace(secret, `draw-${i}`, scale),
    );
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    const meanAbs = draws.reduce((a, b) => a + Math.abs(b), 0) / draws.length;
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(meanAbs).toBeGreaterThan(scale * 0.95);
    expect(meanAbs).toBeLessThan(scale * 1.05);
    // P(|X| > 3 * scale) = e^-3 ~ 5%
    const tail = draws.filter((d) => Math.abs(d) > 3 * scale).length / draws.length;
    expect(tail).toBeGreaterThan(0.04);
    expect(tail).toBeLessThan(0.06);
  });

  it("rounds to the base", () => {
    expect(roundToBase(12.4, 5)).toBe(10);
    expect(roundToBase(12.6, 5)).toBe(15);
    expect(roundToBase(7, 1)).toBe(7);
    expect(roundToBase(96, 10)).toBe(100);
  });
});
