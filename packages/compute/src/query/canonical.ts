import { createHash } from "node:crypto";
import { type CatalogueColumn, columnDomain, type DatasetCatalogue } from "../catalogue/dataset";
import {
  type ColumnConstraint,
  constraintKey,
  countIntegers,
  type NumericSet,
  numericHull,
  stringSetMatches,
} from "./constraints";
import {
  type ColumnRef,
  columnKey,
  type Dimension,
  dimensionKey,
  type Membership,
  measureKey,
  type QueryPlan,
} from "./plan";

/**
 * The canonical text of a plan: everything that changes the answer, nothing that does not
 * (aliases, select order, predicate order, spelling, and, given the declared domains, bounds
 * beyond the domain, tautologies, exclusions of what cannot occur, bin widths that cut the
 * domain the same way). Its hash is the receipt's query hash and part of the sticky-noise key.
 */
export function canonicalText(plan: QueryPlan): string {
  return JSON.stringify({
    v: 2,
    tables: plan.tables,
    where: plan.matchesNothing
      ? "false"
      : plan.filters.map((f) => [columnKey(f.column), constraintKey(f.constraint)]),
    membership: plan.matchesNothing ? [] : plan.memberships.map(membershipKey),
    groupBy: plan.dimensions.map(canonicalDimensionKey),
    measures: plan.measures.map(measureKey),
  });
}

export function membershipKey(m: Membership): string {
  return `${m.negated ? "not " : ""}in(${m.table}:${m.filters
    .map((f) => `${columnKey(f.column)}=${constraintKey(f.constraint)}`)
    .join("&")})`;
}

export function sha256Hex(text: string | Buffer): `0x${string}` {
  return `0x${createHash("sha256").update(text).digest("hex")}`;
}

export function canonicalHash(plan: QueryPlan): `0x${string}` {
  return sha256Hex(canonicalText(plan));
}

// ---------------------------------------------------------------- dimensions

/** Beyond this many bin edges a bin keeps its written width as its canonical form. */
const MAX_EDGES = 10_000;

const isDiscrete = (column: ColumnRef) =>
  column.type === "INTEGER" || column.type === "BIGINT" || column.type === "DATE";

/** ceil() that ignores floating-point dust: floor(7 / 0.1) * 0.1 is 7.000000000000001. */
function ceilish(value: number): number {
  const nearest = Math.round(value);
  return Math.abs(value - nearest) <= 1e-9 * Math.max(1, Math.abs(value))
    ? nearest
    : Math.ceil(value);
}

const tidy = (value: number) => Number(value.toPrecision(12));

/**
 * The lower edges of every group but the first, inside (lo, hi]: the partition a binning
 * makes of the column's domain. Undefined when there would be too many to list.
 */
function partitionEdges(d: Dimension): number[] | undefined {
  if ((d.kind !== "bin" && d.kind !== "age_band") || !d.domain) return undefined;
  const { lo, hi } = d.domain;
  const w = d.width;
  if ((hi - lo) / w > MAX_EDGES) return undefined;
  const edges: number[] = [];
  if (d.kind === "age_band") {
    // Ages a..a+w-1 are birth years ref-a-w+1..ref-a: a group starts where (ref+1-e) % w == 0.
    if (d.referenceYear === undefined) return undefined;
    const ref = d.referenceYear;
    let e = lo + 1;
    while (e <= hi && (((ref + 1 - e) % w) + w) % w !== 0) e++;
    for (; e <= hi; e += w) edges.push(e);
    return edges;
  }
  const discrete = isDiscrete(d.column);
  for (let k = Math.floor(lo / w); k <= Math.ceil(hi / w) + 1; k++) {
    const e = discrete ? ceilish(k * w) : tidy(k * w);
    if (e > lo && e <= hi && edges[edges.length - 1] !== e) edges.push(e);
  }
  return edges;
}

/**
 * A dimension's canonical form: dimensions that partition the rows the same way (given the
 * declared domains and the query's filter on the column) print the same.
 * - floor(x / w) * w on an integer column with w <= 1 is the column itself;
 * - a bin or an age band over a bounded column is the set of group edges inside the domain
 *   (widths that cut [min, max] at the same places are one dimension), and every edge at
 *   every integer is the column;
 * - year(d) and date_trunc('year', d) are the same partition;
 * - left(x, n) with n at least the longest declared value is the column.
 */
export function canonicalDimensionKey(d: Dimension): string {
  const column = columnKey(d.column);
  switch (d.kind) {
    case "column":
      return column;
    case "bin":
    case "age_band": {
      if (d.kind === "bin" && isDiscrete(d.column) && d.width <= 1) return column;
      if (d.kind === "age_band" && d.width <= 1 && d.referenceYear !== undefined) return column;
      const edges = partitionEdges(d);
      if (!edges || !d.domain) return dimensionKey(d);
      if (isDiscrete(d.column) && edges.length === d.domain.hi - d.domain.lo) return column;
      return `partition(${column};${JSON.stringify(edges)})`;
    }
    case "date_part":
      return d.part === "year" ? `year(${column})` : dimensionKey(d);
    case "date_trunc":
      return d.unit === "year" ? `year(${column})` : dimensionKey(d);
    case "prefix":
      return d.longest !== undefined && d.length >= d.longest ? column : dimensionKey(d);
  }
}

const plainNumber = (value: unknown): unknown =>
  typeof value === "bigint" &&
  value <= BigInt(Number.MAX_SAFE_INTEGER) &&
  value >= BigInt(-Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value;

/**
 * Maps a group's dimension value, as DuckDB returns it for the compiled SQL, to its canonical
 * value, so that two phrasings of the same partition key the same group the same way (and
 * so draw the same noise):
 * - a bin label (or an age band's age) -> the lowest column value of the group, clipped into
 *   the effective domain (for year_of_birth in [1900, 2026], widths 500 and 2000 both map
 *   1922's group to 1900 and 2010's to 2000; an age band maps to birth years);
 * - year(d) and date_trunc('year', d) ('2020-01-01') -> 2020;
 * - anything else: the value itself (BIGINTs as numbers when exact). NULL stays NULL.
 * Call it per dimension: `group.dims.map((v, i) => canonicalDimensionValue(plan.dimensions[i], v))`.
 */
export function canonicalDimensionValue(dimension: Dimension, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  const d = dimension;
  switch (d.kind) {
    case "bin": {
      const label = Number(value);
      if (!Number.isFinite(label)) return plainNumber(value);
      const lowest = isDiscrete(d.column) ? ceilish(label) : tidy(label);
      return d.domain ? Math.min(d.domain.hi, Math.max(d.domain.lo, lowest)) : lowest;
    }
    case "age_band": {
      const age = Number(value);
      if (!Number.isFinite(age) || d.referenceYear === undefined) return plainNumber(value);
      const lowest = d.referenceYear - age - d.width + 1;
      return d.domain ? Math.min(d.domain.hi, Math.max(d.domain.lo, lowest)) : lowest;
    }
    case "date_part":
      return d.part === "year" ? Number(plainNumber(value)) : plainNumber(value);
    case "date_trunc":
      return d.unit === "year" ? Number(String(value).slice(0, 4)) : value;
    default:
      return plainNumber(value);
  }
}

// ---------------------------------------------------------------- domain sizes

function catalogueColumn(
  catalogue: DatasetCatalogue,
  column: ColumnRef,
): CatalogueColumn | undefined {
  return catalogue.tables
    .find((t) => t.name === column.table)
    ?.columns.find((c) => c.name === column.column);
}

function filterOn(plan: QueryPlan, column: ColumnRef): ColumnConstraint | undefined {
  const key = columnKey(column);
  return plan.filters.find((f) => columnKey(f.column) === key)?.constraint;
}

/** Dates are days since 1970-01-01 in plans and declared domains. */
export const DAY_MS = 86_400_000;
const yearOf = (days: number) => new Date(days * DAY_MS).getUTCFullYear();
const monthIndexOf = (days: number) => {
  const date = new Date(days * DAY_MS);
  return date.getUTCFullYear() * 12 + date.getUTCMonth();
};

/**
 * How many distinct groups a dimension can produce, from the declared domain and the query's
 * own filter on the same column (never from the data), plus one for NULL when the column is
 * nullable and not filtered. Undefined when the domain is not declared (or not finite, as for
 * an ungrouped DOUBLE). Use it to bound the number of groups from the query's structure.
 */
export function dimensionDomainSize(
  dimension: Dimension,
  plan: QueryPlan,
  catalogue: DatasetCatalogue,
): number | undefined {
  if (plan.matchesNothing) return 0;
  const spec = catalogueColumn(catalogue, dimension.column);
  if (!spec) return undefined;
  const domain = columnDomain(spec);
  const filter = filterOn(plan, dimension.column);
  const nullGroup = domain.nullable && !filter ? 1 : 0;
  const size = (n: number | undefined) => (n === undefined ? undefined : n + nullGroup);
  const numericFilter: NumericSet | undefined = filter?.kind === "numeric" ? filter : undefined;
  const range = () => {
    if (domain.min === undefined || domain.max === undefined) return undefined;
    if (!numericFilter) return { lo: domain.min, hi: domain.max };
    return numericHull(numericFilter, domain.min, domain.max);
  };
  const d = dimension;
  switch (d.kind) {
    case "column": {
      if (d.column.type === "VARCHAR") {
        if (!domain.values) return undefined;
        const values =
          filter?.kind === "string"
            ? domain.values.filter((v) => stringSetMatches(filter, v))
            : domain.values;
        return size(values.length);
      }
      if (!isDiscrete(d.column) || domain.min === undefined || domain.max === undefined)
        return undefined;
      const all = { kind: "numeric" as const, discrete: true, intervals: [{}] };
      return size(countIntegers(numericFilter ?? all, domain.min, domain.max));
    }
    case "bin":
    case "age_band": {
      const r = range();
      if (!r) return undefined;
      if (canonicalDimensionKey(d) === columnKey(d.column) && isDiscrete(d.column)) {
        const all = { kind: "numeric" as const, discrete: true, intervals: [{}] };
        return size(countIntegers(numericFilter ?? all, r.lo, r.hi));
      }
      const edges = partitionEdges(d);
      if (edges) return size(edges.length + 1);
      return size(Math.floor((r.hi - r.lo) / d.width) + 2);
    }
    case "date_part":
    case "date_trunc": {
      const r = range();
      if (!r) return undefined;
      const part = d.kind === "date_part" ? d.part : d.unit;
      const years = yearOf(r.hi) - yearOf(r.lo) + 1;
      const months = monthIndexOf(r.hi) - monthIndexOf(r.lo) + 1;
      const quarters = Math.floor(monthIndexOf(r.hi) / 3) - Math.floor(monthIndexOf(r.lo) / 3) + 1;
      if (part === "year") return size(years);
      if (d.kind === "date_trunc") return size(part === "month" ? months : quarters);
      return size(part === "month" ? Math.min(12, months) : Math.min(4, quarters));
    }
    case "prefix": {
      if (!domain.values) return undefined;
      const values =
        filter?.kind === "string"
          ? domain.values.filter((v) => stringSetMatches(filter, v))
          : domain.values;
      return size(new Set(values.map((v) => [...v].slice(0, d.length).join(""))).size);
    }
  }
}
