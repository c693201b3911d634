import { describe, expect, it } from "vitest";
import { pseudonymizer } from "./pseudonym";

describe("pseudonymizer", () => {
  it("is stable for a secret, differs across secrets, and is a positive BIGINT", () => {
    const a = pseudonymizer("steward-secret-number-one");
    const b = pseudonymizer("steward-secret-number-two");
    expect(a("6")).toBe(pseudonymizer("steward-secret-number-one")("6"));
    expect(a("6")).not.toBe(b("6"));
    expect(a("6")).not.toBe(a("7"));
    for (const id of ["0", "6", "2694", "129c6ac7-8d06-89de-ad63-0204a93e76c3"]) {
      const value = a(id);
      expect(value >= 0n && value < 2n ** 63n).toBe(true);
    }
  });

  it("refuses a short secret", () => {
    expect(() => pseudonymizer("short")).toThrow(/at least 16 bytes/);
  });
});
