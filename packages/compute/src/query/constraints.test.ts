import { describe, expect, it } from "vitest";
import {
  complement,
  constraintKey,
  intersect,
  numericComparison,
  numericPoints,
  stringMatch,
  union,
} from "./constraints";

const key = constraintKey;

describe("numeric constraint sets", () => {
  it("writes one integer value the same way whichever operators are used", () => {
    const eq = numericComparison("=", 1922, true);
    const between = intersect(
      numericComparison(">=", 1922, true),
      numericComparison("<=", 1922, true),
    );
    const halfOpen = intersect(
      numericComparison(">", 1921, true),
      numericComparison("<", 1923, true),
    );
    const inList = numericPoints([1922, 1922], true);
    expect(new Set([key(eq), key(between), key(halfOpen), key(inList)]).size).toBe(1);
  });

  it("merges adjacent integer points into a range", () => {
    expect(key(numericPoints([3, 1, 2, 7], true))).toBe("[1,3]u[7,7]");
  });

  it("complements <> into two open rays and back", () => {
    const ne = numericComparison("<>", 5, true);
    expect(key(ne)).toBe("(-inf,4]u[6,+inf)");
    const back = complement(ne);
    expect(back && key(back)).toBe(key(numericComparison("=", 5, true)));
  });

  it("keeps open and closed ends on continuous columns", () => {
    const lt = numericComparison("<", 5, false);
    const le = numericComparison("<=", 5, false);
    expect(key(lt)).not.toBe(key(le));
    const whole = union(lt, numericComparison(">=", 5, false));
    expect(whole && key(whole)).toBe("(-inf,+inf)");
  });

  it("detects contradictions", () => {
    const none = intersect(numericComparison("<", 3, true), numericComparison(">", 3, true));
    expect(none.kind === "numeric" && none.intervals).toEqual([]);
  });
});

describe("string constraint sets", () => {
  it("treats = and IN of one value alike, and intersects exact sets", () => {
    const a = stringMatch({ exact: ["F"], prefixes: [] }, false);
    const b = intersect(
      stringMatch({ exact: ["F", "M"], prefixes: [] }, false),
      stringMatch({ exact: ["F"], prefixes: [] }, false),
    );
    expect(key(a)).toBe(key(b));
  });

  it("drops prefixes and codes covered by a shorter prefix", () => {
    const wide = stringMatch({ exact: ["E11.9"], prefixes: ["E11", "E1"] }, false);
    expect(key(wide)).toBe(key(stringMatch({ exact: [], prefixes: ["E1"] }, false)));
  });

  it("unites positive patterns for same-column OR, refuses to unite negations", () => {
    const either = union(
      stringMatch({ exact: ["a"], prefixes: [] }, false),
      stringMatch({ exact: ["b"], prefixes: [] }, false),
    );
    expect(either && key(either)).toBe(
      key(stringMatch({ exact: ["b", "a"], prefixes: [] }, false)),
    );
    expect(
      union(
        stringMatch({ exact: ["a"], prefixes: [] }, true),
        stringMatch({ exact: ["b"], prefixes: [] }, false),
      ),
    ).toBeUndefined();
  });
});
