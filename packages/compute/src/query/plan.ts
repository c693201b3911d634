import type { OmopTableName } from "@opencohort/validators";
import type { ColumnType } from "../catalogue/dataset";
import type { ColumnConstraint } from "./constraints";

/**
 * The validated query, stripped of everything the researcher wrote that does not change its
 * meaning (aliases, order, spelling). It is what gets compiled and what keys the noise.
 */

export interface ColumnRef {
  table: OmopTableName;
  column: string;
  type: ColumnType;
}

export type DatePart = "year" | "month" | "quarter";

/**
 * The effective numeric domain of a grouped column, inclusive (dates as days): the declared
 * bounds narrowed by the query's own filter on that column. Values outside the declared
 * bounds are grouped as the nearest bound (winsorised), so groups stay inside it.
 */
export interface NumericDomain {
  lo: number;
  hi: number;
}

export type Dimension =
  | { kind: "column"; column: ColumnRef; domain?: NumericDomain }
  /** floor(x / width) * width */
  | { kind: "bin"; column: ColumnRef; width: number; domain?: NumericDomain }
  /** Age at the dataset's reference year, binned: floor((ref - year_of_birth) / width) * width */
  | {
      kind: "age_band";
      column: ColumnRef;
      width: number;
      referenceYear?: number;
      domain?: NumericDomain;
    }
  | { kind: "date_part"; part: DatePart; column: ColumnRef }
  | { kind: "date_trunc"; unit: DatePart; column: ColumnRef }
  /** left(x, length); `longest` is the longest declared value, when the column has a value set. */
  | { kind: "prefix"; column: ColumnRef; length: number; longest?: number };

export type Measure =
  | { kind: "count_rows" }
  | { kind: "count_persons" }
  /** Values are clamped into [lo, hi] before they are added up. */
  | { kind: "sum" | "avg"; column: ColumnRef; lo: number; hi: number };

export interface Filter {
  column: ColumnRef;
  constraint: ColumnConstraint;
}

/** person_id [NOT] IN (SELECT person_id FROM table WHERE filters) */
export interface Membership {
  negated: boolean;
  table: OmopTableName;
  filters: Filter[];
}

export type OutputRef = { dimension: number } | { measure: number };

export interface QueryPlan {
  /** Sorted; every pair joined on person_id. */
  tables: OmopTableName[];
  filters: Filter[];
  memberships: Membership[];
  dimensions: Dimension[];
  measures: Measure[];
  /**
   * True when the WHERE clause cannot match any row given the declared domains (an impossible
   * value, an empty range, a membership in an empty set): one canonical "nothing matches",
   * whatever the predicates were. `filters` and `memberships` are then empty.
   */
  matchesNothing?: boolean;
  /** The researcher's select list, in order: presentation only, not part of the canonical form. */
  outputs: Array<{ name: string; ref: OutputRef }>;
}

export const columnKey = (c: ColumnRef) => `${c.table}.${c.column}`;

export function dimensionKey(d: Dimension): string {
  switch (d.kind) {
    case "column":
      return columnKey(d.column);
    case "bin":
      return `bin(${columnKey(d.column)},${d.width})`;
    case "age_band":
      return `age_band(${columnKey(d.column)},${d.width})`;
    case "date_part":
      return `${d.part}(${columnKey(d.column)})`;
    case "date_trunc":
      return `date_trunc(${d.unit},${columnKey(d.column)})`;
    case "prefix":
      return `prefix(${columnKey(d.column)},${d.length})`;
  }
}

export function measureKey(m: Measure): string {
  switch (m.kind) {
    case "count_rows":
      return "count(*)";
    case "count_persons":
      return "count(distinct person_id)";
    default:
      return `${m.kind}(${columnKey(m.column)};${m.lo};${m.hi})`;
  }
}
