import { describe, expect, it } from "vitest";
import {
  complement,
  constraintKey,
  countIntegers,
  intersect,
  isNotNullOnly,
  isUnsatisfiable,
  numericComparison,
  numericHull,
  numericPoints,
  numericSet,
  restrictToDomain,
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

describe("restricting to a declared domain", () => {
  const years = { nullable: false, min: 1900, max: 2026 };
  const codes = { nullable: true, values: ["E10.9", "E11.65", "E11.9", "I10", "Q87.4"] };

  it("intersects with [min, max] and drops a side that reaches the edge", () => {
    const wide = restrictToDomain(
      intersect(numericComparison(">=", 1000, true), numericComparison("<=", 1950, true)),
      years,
    );
    const narrow = restrictToDomain(numericComparison("<=", 1950, true), years);
    expect(key(wide)).toBe(key(narrow));
    expect(key(narrow)).toBe("(-inf,1950]");
    expect(isNotNullOnly(restrictToDomain(numericComparison(">", 1899, true), years))).toBe(true);
    expect(isUnsatisfiable(restrictToDomain(numericComparison(">", 2026, true), years))).toBe(true);
    // <> inside the domain keeps both halves, each open towards its edge.
    expect(key(restrictToDomain(numericComparison("<>", 1950, true), years))).toBe(
      "(-inf,1949]u[1951,+inf)",
    );
  });

  it("keeps an exclusive bound at the edge of a continuous domain", () => {
    const values = { nullable: true, min: 0, max: 50 };
    expect(key(restrictToDomain(numericComparison(">", 0, false), values))).toBe("(0,+inf)");
    expect(isNotNullOnly(restrictToDomain(numericComparison(">=", 0, false), values))).toBe(true);
  });

  it("turns text predicates into the exact subset of the value set", () => {
    const like = restrictToDomain(stringMatch({ exact: [], prefixes: ["E1"] }, false), codes);
    const list = restrictToDomain(
      stringMatch({ exact: ["E10.9", "E11.65", "E11.9", "ZZ"], prefixes: [] }, false),
      codes,
    );
    expect(key(like)).toBe(key(list));
    const notI10 = restrictToDomain(stringMatch({ exact: ["I10"], prefixes: [] }, true), codes);
    expect(notI10).toMatchObject({ allOf: [], noneOf: { exact: ["I10"] } });
    const impossible = restrictToDomain(stringMatch({ exact: ["ZZ"], prefixes: [] }, true), codes);
    expect(isNotNullOnly(impossible)).toBe(true);
    const none = restrictToDomain(stringMatch({ exact: ["ZZ"], prefixes: [] }, false), codes);
    expect(isUnsatisfiable(none)).toBe(true);
  });

  it("leaves columns without a declared domain alone", () => {
    const c = numericComparison("<=", 1950, true);
    expect(restrictToDomain(c, { nullable: true })).toEqual(c);
  });

  it("measures a set: hull and integer count within the domain", () => {
    const set = numericSet(
      [
        { lo: { value: 1950, inclusive: true }, hi: { value: 1959, inclusive: true } },
        { lo: { value: 1970, inclusive: true } },
      ],
      true,
    );
    expect(numericHull(set, 1900, 2026)).toEqual({ lo: 1950, hi: 2026 });
    expect(countIntegers(set, 1900, 2026)).toBe(10 + 57);
  });
});
