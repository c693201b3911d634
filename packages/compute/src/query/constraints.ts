/**
 * Canonical forms of WHERE predicates on one column. Every accepted predicate becomes a set
 * (of numbers or of strings); a conjunction intersects the sets, a same-column OR unites them.
 * Whatever way a researcher writes "born in 1922" (= 1922, IN (1922), BETWEEN 1922 AND 1922,
 * >= 1922 AND < 1923, reordered, duplicated) yields the same set, hence the same canonical
 * query and the same sticky noise.
 */

export interface Bound {
  value: number;
  inclusive: boolean;
}

/** An interval; a missing bound is unbounded on that side. */
export interface Interval {
  lo?: Bound;
  hi?: Bound;
}

/** A union of disjoint intervals in ascending order. Discrete domains use inclusive bounds. */
export interface NumericSet {
  kind: "numeric";
  discrete: boolean;
  intervals: Interval[];
}

/** Strings: equal to one of `exact` or starting with one of `prefixes`. */
export interface StringPattern {
  exact: string[];
  prefixes: string[];
}

/**
 * Conjunction of "matches one of" groups and one "matches none of" pattern. Kept in a
 * normal form (sorted, de-duplicated, merged) so equal constraints print equally.
 */
export interface StringSet {
  kind: "string";
  allOf: StringPattern[];
  noneOf: StringPattern;
}

export type ColumnConstraint = NumericSet | StringSet;

export type ComparisonOp = "=" | "<>" | "<" | "<=" | ">" | ">=";

// ---------------------------------------------------------------- numeric sets

function normaliseBound(bound: Bound | undefined, side: "lo" | "hi", discrete: boolean) {
  if (!bound || !discrete || bound.inclusive) return bound;
  return { value: side === "lo" ? bound.value + 1 : bound.value - 1, inclusive: true };
}

function isEmpty(interval: Interval): boolean {
  const { lo, hi } = interval;
  if (!lo || !hi) return false;
  if (lo.value > hi.value) return true;
  return lo.value === hi.value && !(lo.inclusive && hi.inclusive);
}

function compareLo(a: Bound | undefined, b: Bound | undefined): number {
  if (!a) return b ? -1 : 0;
  if (!b) return 1;
  if (a.value !== b.value) return a.value - b.value;
  return a.inclusive === b.inclusive ? 0 : a.inclusive ? -1 : 1;
}

function compareHi(a: Bound | undefined, b: Bound | undefined): number {
  if (!a) return b ? 1 : 0;
  if (!b) return -1;
  if (a.value !== b.value) return a.value - b.value;
  return a.inclusive === b.inclusive ? 0 : a.inclusive ? 1 : -1;
}

/** Do two intervals (a before b) overlap or touch so that their union is one interval? */
function joins(a: Interval, b: Interval, discrete: boolean): boolean {
  if (!a.hi || !b.lo) return true;
  if (discrete) return b.lo.value <= a.hi.value + 1;
  if (b.lo.value < a.hi.value) return true;
  return b.lo.value === a.hi.value && (a.hi.inclusive || b.lo.inclusive);
}

function normaliseIntervals(intervals: Interval[], discrete: boolean): Interval[] {
  const cleaned = intervals
    .map((i) => {
      const lo = normaliseBound(i.lo, "lo", discrete);
      const hi = normaliseBound(i.hi, "hi", discrete);
      return { ...(lo ? { lo } : {}), ...(hi ? { hi } : {}) };
    })
    .filter((i) => !isEmpty(i))
    .sort((a, b) => compareLo(a.lo, b.lo));
  const merged: Interval[] = [];
  for (const interval of cleaned) {
    const last = merged[merged.length - 1];
    if (last && joins(last, interval, discrete)) {
      if (compareHi(interval.hi, last.hi) > 0) {
        if (interval.hi) last.hi = interval.hi;
        else delete last.hi;
      }
    } else {
      merged.push({ ...interval });
    }
  }
  return merged;
}

export function numericSet(intervals: Interval[], discrete: boolean): NumericSet {
  return { kind: "numeric", discrete, intervals: normaliseIntervals(intervals, discrete) };
}

export function numericComparison(op: ComparisonOp, value: number, discrete: boolean): NumericSet {
  const point = { value, inclusive: true };
  const open = { value, inclusive: false };
  switch (op) {
    case "=":
      return numericSet([{ lo: point, hi: point }], discrete);
    case "<>":
      return numericSet([{ hi: open }, { lo: open }], discrete);
    case "<":
      return numericSet([{ hi: open }], discrete);
    case "<=":
      return numericSet([{ hi: point }], discrete);
    case ">":
      return numericSet([{ lo: open }], discrete);
    case ">=":
      return numericSet([{ lo: point }], discrete);
  }
}

export function numericPoints(values: number[], discrete: boolean): NumericSet {
  return numericSet(
    values.map((value) => ({ lo: { value, inclusive: true }, hi: { value, inclusive: true } })),
    discrete,
  );
}

function intersectIntervals(a: Interval, b: Interval): Interval {
  const lo = compareLo(a.lo, b.lo) >= 0 ? a.lo : b.lo;
  const hi = compareHi(a.hi, b.hi) <= 0 ? a.hi : b.hi;
  return { ...(lo ? { lo } : {}), ...(hi ? { hi } : {}) };
}

function intersectNumeric(a: NumericSet, b: NumericSet): NumericSet {
  const parts: Interval[] = [];
  for (const x of a.intervals) for (const y of b.intervals) parts.push(intersectIntervals(x, y));
  return numericSet(parts, a.discrete);
}

function flip(bound: Bound): Bound {
  return { value: bound.value, inclusive: !bound.inclusive };
}

export function complementNumeric(set: NumericSet): NumericSet {
  const { intervals } = set;
  if (intervals.length === 0) return numericSet([{}], set.discrete);
  const gaps: Interval[] = [];
  const first = intervals[0];
  if (first?.lo) gaps.push({ hi: flip(first.lo) });
  for (let i = 0; i + 1 < intervals.length; i++) {
    const left = intervals[i]?.hi;
    const right = intervals[i + 1]?.lo;
    if (left && right) gaps.push({ lo: flip(left), hi: flip(right) });
  }
  const last = intervals[intervals.length - 1];
  if (last?.hi) gaps.push({ lo: flip(last.hi) });
  return numericSet(gaps, set.discrete);
}

// ---------------------------------------------------------------- string sets

const sortUnique = (values: string[]) => [...new Set(values)].sort();

/** Drops prefixes covered by shorter prefixes and exact values covered by a prefix. */
function normalisePattern(pattern: StringPattern): StringPattern {
  const prefixes = sortUnique(pattern.prefixes).filter(
    (p, _, all) => !all.some((q) => q !== p && p.startsWith(q)),
  );
  const exact = sortUnique(pattern.exact).filter((e) => !prefixes.some((p) => e.startsWith(p)));
  return { exact, prefixes };
}

function patternKey(pattern: StringPattern): string {
  return JSON.stringify(pattern);
}

function matches(pattern: StringPattern, value: string): boolean {
  return pattern.exact.includes(value) || pattern.prefixes.some((p) => value.startsWith(p));
}

function normaliseStringSet(allOf: StringPattern[], noneOf: StringPattern): StringSet {
  const none = normalisePattern(noneOf);
  let groups = allOf.map(normalisePattern);
  // Two groups of exact values intersect into one: = 'a' AND IN ('a', 'b') is = 'a'.
  const exactOnly = groups.filter((g) => g.prefixes.length === 0);
  if (exactOnly.length > 0) {
    const others = groups.filter((g) => g.prefixes.length > 0);
    let values = exactOnly[0]?.exact ?? [];
    for (const g of exactOnly.slice(1)) values = values.filter((v) => g.exact.includes(v));
    values = values.filter((v) => others.every((g) => matches(g, v)) && !matches(none, v));
    return {
      kind: "string",
      allOf: [{ exact: values, prefixes: [] }],
      noneOf: { exact: [], prefixes: [] },
    };
  }
  const seen = new Map(groups.map((g) => [patternKey(g), g]));
  groups = [...seen.values()].sort((a, b) => (patternKey(a) < patternKey(b) ? -1 : 1));
  return { kind: "string", allOf: groups, noneOf: none };
}

export function stringMatch(pattern: StringPattern, negated: boolean): StringSet {
  return negated
    ? normaliseStringSet([], pattern)
    : normaliseStringSet([pattern], { exact: [], prefixes: [] });
}

function intersectString(a: StringSet, b: StringSet): StringSet {
  return normaliseStringSet([...a.allOf, ...b.allOf], {
    exact: [...a.noneOf.exact, ...b.noneOf.exact],
    prefixes: [...a.noneOf.prefixes, ...b.noneOf.prefixes],
  });
}

// ---------------------------------------------------------------- both

export function intersect(a: ColumnConstraint, b: ColumnConstraint): ColumnConstraint {
  if (a.kind === "numeric" && b.kind === "numeric") return intersectNumeric(a, b);
  if (a.kind === "string" && b.kind === "string") return intersectString(a, b);
  throw new Error("constraints of different kinds on one column");
}

/**
 * Union, for same-column OR. Strings can only be united when each side is a single positive
 * pattern (= / IN / LIKE 'x%'); otherwise the caller refuses the OR.
 */
export function union(a: ColumnConstraint, b: ColumnConstraint): ColumnConstraint | undefined {
  if (a.kind === "numeric" && b.kind === "numeric") {
    return numericSet([...a.intervals, ...b.intervals], a.discrete);
  }
  if (a.kind === "string" && b.kind === "string") {
    const simple = (s: StringSet) =>
      s.allOf.length === 1 && s.noneOf.exact.length === 0 && s.noneOf.prefixes.length === 0;
    if (!simple(a) || !simple(b)) return undefined;
    const [x] = a.allOf;
    const [y] = b.allOf;
    if (!x || !y) return undefined;
    return stringMatch(
      { exact: [...x.exact, ...y.exact], prefixes: [...x.prefixes, ...y.prefixes] },
      false,
    );
  }
  return undefined;
}

/** NOT of a single predicate. Strings: only a single positive pattern can be negated. */
export function complement(c: ColumnConstraint): ColumnConstraint | undefined {
  if (c.kind === "numeric") return complementNumeric(c);
  if (c.allOf.length === 1 && c.noneOf.exact.length === 0 && c.noneOf.prefixes.length === 0) {
    const [pattern] = c.allOf;
    return pattern ? stringMatch(pattern, true) : undefined;
  }
  if (c.allOf.length === 0) return stringMatch(c.noneOf, false);
  return undefined;
}

/** True when no value can satisfy the constraint. */
export function isUnsatisfiable(c: ColumnConstraint): boolean {
  if (c.kind === "numeric") return c.intervals.length === 0;
  return c.allOf.some((g) => g.exact.length === 0 && g.prefixes.length === 0);
}

/** The stable text used in the canonical query (and so in the noise key). */
export function constraintKey(c: ColumnConstraint): string {
  if (c.kind === "numeric") {
    return c.intervals
      .map((i) => {
        const lo = i.lo ? `${i.lo.inclusive ? "[" : "("}${i.lo.value}` : "(-inf";
        const hi = i.hi ? `${i.hi.value}${i.hi.inclusive ? "]" : ")"}` : "+inf)";
        return `${lo},${hi}`;
      })
      .join("u");
  }
  const pattern = (p: StringPattern) => JSON.stringify([p.exact, p.prefixes]);
  return `all${JSON.stringify(c.allOf.map(pattern))}none${pattern(c.noneOf)}`;
}

// ---------------------------------------------------------------- declared domains

/**
 * What the manifest declares about a column's values (public, like the bounds): a numeric
 * range (dates as days since 1970-01-01), a value set for text, and whether NULL can occur.
 */
export interface ColumnDomain {
  nullable: boolean;
  /** Numeric and date columns: inclusive range. */
  min?: number;
  max?: number;
  /** Text columns: the declared values, sorted and unique. */
  values?: readonly string[];
}

/** Does a text value satisfy the constraint? */
export function stringSetMatches(set: StringSet, value: string): boolean {
  return set.allOf.every((g) => matches(g, value)) && !matches(set.noneOf, value);
}

const noPattern = (): StringPattern => ({ exact: [], prefixes: [] });

/** "x IS NOT NULL": every declared value, or the whole numeric domain. */
export function notNullConstraint(kind: "numeric" | "string", discrete = true): ColumnConstraint {
  return kind === "numeric"
    ? { kind: "numeric", discrete, intervals: [{}] }
    : { kind: "string", allOf: [], noneOf: noPattern() };
}

export function isNotNullOnly(c: ColumnConstraint): boolean {
  if (c.kind === "numeric") {
    const [only] = c.intervals;
    return c.intervals.length === 1 && !!only && !only.lo && !only.hi;
  }
  return c.allOf.length === 0 && c.noneOf.exact.length === 0 && c.noneOf.prefixes.length === 0;
}

const nothing = (c: ColumnConstraint): ColumnConstraint =>
  c.kind === "numeric"
    ? { kind: "numeric", discrete: c.discrete, intervals: [] }
    : { kind: "string", allOf: [noPattern()], noneOf: noPattern() };

/**
 * The constraint's canonical form within the declared domain, so that every way of writing
 * the same subset of the domain prints (and compiles) the same:
 * - numbers and dates are intersected with [min, max]; a side that reaches the domain's min
 *   (max) is dropped, which is exactly the winsorised meaning of the bounds (a value below
 *   min counts as min, and clamp(x) >= min always holds). The whole domain is "not null".
 * - text on a column with a value set becomes the exact subset of the set it matches, written
 *   as the matching values or as "not one of" the others, whichever list is shorter; the
 *   whole set is "not null", no value at all is unsatisfiable.
 */
export function restrictToDomain(c: ColumnConstraint, domain: ColumnDomain): ColumnConstraint {
  if (isUnsatisfiable(c)) return nothing(c);
  if (c.kind === "numeric") {
    const { min, max } = domain;
    if (min === undefined || max === undefined) return c;
    const whole = { lo: { value: min, inclusive: true }, hi: { value: max, inclusive: true } };
    const within = intersectNumeric(c, numericSet([whole], c.discrete));
    const stripped = within.intervals.map((i) => {
      const lo = i.lo && !(i.lo.inclusive && i.lo.value <= min) ? i.lo : undefined;
      const hi = i.hi && !(i.hi.inclusive && i.hi.value >= max) ? i.hi : undefined;
      return { ...(lo ? { lo } : {}), ...(hi ? { hi } : {}) };
    });
    return { kind: "numeric", discrete: c.discrete, intervals: stripped };
  }
  const values = domain.values;
  if (!values) return c;
  const inside = values.filter((v) => stringSetMatches(c, v));
  if (inside.length === 0) return nothing(c);
  if (inside.length === values.length) return notNullConstraint("string");
  if (inside.length <= values.length - inside.length) {
    return { kind: "string", allOf: [{ exact: inside, prefixes: [] }], noneOf: noPattern() };
  }
  const outside = values.filter((v) => !stringSetMatches(c, v));
  return { kind: "string", allOf: [], noneOf: { exact: outside, prefixes: [] } };
}

/** The smallest [lo, hi] holding every value of a numeric constraint within [min, max]. */
export function numericHull(
  c: NumericSet,
  min: number,
  max: number,
): { lo: number; hi: number } | undefined {
  const first = c.intervals[0];
  const last = c.intervals[c.intervals.length - 1];
  if (!first || !last) return undefined;
  const lo = Math.max(min, first.lo?.value ?? min);
  const hi = Math.min(max, last.hi?.value ?? max);
  return lo <= hi ? { lo, hi } : undefined;
}

/** How many integers of [min, max] satisfy a discrete numeric constraint. */
export function countIntegers(c: NumericSet, min: number, max: number): number {
  let count = 0;
  for (const i of c.intervals) {
    let lo = Math.max(min, i.lo?.value ?? min);
    let hi = Math.min(max, i.hi?.value ?? max);
    if (i.lo && !i.lo.inclusive) lo = Math.max(lo, Math.floor(i.lo.value) + 1);
    if (i.hi && !i.hi.inclusive) hi = Math.min(hi, Math.ceil(i.hi.value) - 1);
    lo = Math.ceil(lo);
    hi = Math.floor(hi);
    if (hi >= lo) count += hi - lo + 1;
  }
  return count;
}
