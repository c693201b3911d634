import { columnDomain, type DatasetCatalogue } from "../catalogue/dataset";
import { DAY_MS } from "../query/canonical";
import {
  type ColumnConstraint,
  type ColumnDomain,
  type NumericSet,
  numericHull,
  stringSetMatches,
} from "../query/constraints";
import { columnKey, type Dimension, type QueryPlan } from "../query/plan";
import type { GroupAggregate } from "./control";
import { groupNoiseKey } from "./control";

/**
 * Public partitions. When every dimension's possible values follow from public declarations
 * (numeric bounds, calendars, value sets) and the query's own filters, the candidate groups
 * are that whole list, empty groups included, and each is released on its noisy count alone.
 * Which groups exist then no longer depends on the data: a group that only one person makes
 * (the lone person born in 1922) is a candidate with or without them, so its appearance is
 * covered by epsilon and costs no delta. Otherwise the candidates are the groups the data
 * has, and the threshold's delta is charged (control.ts, thresholdDelta).
 */

export type DomainValue = string | number | null;

const isoDate = (year: number, month: number) =>
  `${String(year).padStart(4, "0")}-${String(month + 1).padStart(2, "0")}-01`;
/** DuckDB orders text by its UTF-8 bytes. */
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * The labels a dimension produces, as the compiled SQL returns them, from declarations and the
 * query's own filter on the column alone; NULL first when the column may hold NULLs and is
 * not filtered. Undefined when they cannot be listed (nothing declared, or more than `limit`).
 */
export function dimensionDomain(
  dimension: Dimension,
  plan: QueryPlan,
  catalogue: DatasetCatalogue,
  limit: number,
): DomainValue[] | undefined {
  const spec = catalogue.tables
    .find((t) => t.name === dimension.column.table)
    ?.columns.find((c) => c.name === dimension.column.column);
  if (!spec) return undefined;
  const declared = columnDomain(spec);
  const filter = plan.filters.find(
    (f) => columnKey(f.column) === columnKey(dimension.column),
  )?.constraint;
  const values = listValues(dimension, declared, filter, catalogue, limit);
  if (!values) return undefined;
  const withNull = declared.nullable && !filter ? [null, ...values] : values;
  return withNull.length > limit ? undefined : withNull;
}

function listValues(
  d: Dimension,
  declared: ColumnDomain,
  filter: ColumnConstraint | undefined,
  catalogue: DatasetCatalogue,
  limit: number,
): DomainValue[] | undefined {
  const steps = (first: number, last: number) =>
    Number.isFinite(first) && Number.isFinite(last) && last - first < limit
      ? Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i)
      : undefined;
  const textValues = () =>
    declared.values?.filter((v) => filter?.kind !== "string" || stringSetMatches(filter, v));
  // Dates: the declared range narrowed by the query's filter, in days.
  const dayRange = () => {
    if (declared.min === undefined || declared.max === undefined) return undefined;
    return filter?.kind === "numeric"
      ? numericHull(filter, declared.min, declared.max)
      : { lo: declared.min, hi: declared.max };
  };
  switch (d.kind) {
    case "column": {
      if (d.column.type === "VARCHAR") return textValues()?.sort(byBytes);
      if (d.column.type !== "INTEGER" && d.column.type !== "BIGINT") return undefined;
      if (!d.domain) return undefined;
      return steps(Math.ceil(d.domain.lo), Math.floor(d.domain.hi))?.filter(
        (v) => filter?.kind !== "numeric" || numericSetHas(filter, v),
      );
    }
    case "bin": {
      // floor(x / w) * w in the engine; k * w here is the same IEEE product for the same k.
      if (!d.domain) return undefined;
      const w = d.width;
      return steps(Math.floor(d.domain.lo / w), Math.floor(d.domain.hi / w))?.map((k) => k * w);
    }
    case "age_band": {
      if (!d.domain) return undefined;
      const w = d.width;
      const reference = d.referenceYear ?? catalogue.referenceYear;
      const youngest = reference - d.domain.hi;
      const oldest = reference - d.domain.lo;
      return steps(Math.floor(youngest / w), Math.floor(oldest / w))?.map((k) => k * w);
    }
    case "date_part":
    case "date_trunc": {
      const part = d.kind === "date_part" ? d.part : d.unit;
      const range = dayRange();
      if (d.kind === "date_part" && part !== "year") {
        // month(), quarter(): the calendar, whatever the range.
        return steps(1, part === "month" ? 12 : 4);
      }
      if (!range) return undefined;
      const from = new Date(range.lo * DAY_MS);
      const to = new Date(range.hi * DAY_MS);
      const years = steps(from.getUTCFullYear(), to.getUTCFullYear());
      if (!years) return undefined;
      if (d.kind === "date_part") return years;
      const perYear = part === "year" ? 1 : part === "quarter" ? 4 : 12;
      const stride = 12 / perYear;
      const firstIndex = Math.floor(from.getUTCMonth() / stride);
      const lastIndex = Math.floor(to.getUTCMonth() / stride);
      const labels: string[] = [];
      for (const year of years) {
        for (let i = 0; i < perYear; i++) {
          if (year === years[0] && i < firstIndex) continue;
          if (year === years[years.length - 1] && i > lastIndex) continue;
          labels.push(isoDate(year, i * stride));
          if (labels.length > limit) return undefined;
        }
      }
      return labels;
    }
    case "prefix": {
      const prefixes = textValues()?.map((v) => [...v].slice(0, d.length).join(""));
      return prefixes ? [...new Set(prefixes)].sort(byBytes) : undefined;
    }
  }
}

/** Every combination of the dimensions' declared values, in the order the engine sorts. */
export function publicPartitions(
  plan: QueryPlan,
  catalogue: DatasetCatalogue,
  limit: number,
): DomainValue[][] | undefined {
  let partitions: DomainValue[][] = [[]];
  for (const dimension of plan.dimensions) {
    const domain = dimensionDomain(dimension, plan, catalogue, limit);
    if (!domain || partitions.length * domain.length > limit) return undefined;
    partitions = partitions.flatMap((prefix) => domain.map((value) => [...prefix, value]));
  }
  return partitions;
}

/**
 * The candidate groups of a query with public partitions: each partition with its data
 * group, or an empty one. A data group outside the declared partitions (a declaration the
 * dataset check missed) is left out: releasing it would make the candidates data-dependent.
 */
export function fillPartitions(
  partitions: DomainValue[][],
  groups: GroupAggregate[],
  inputCount: number,
): { groups: GroupAggregate[]; outside: number } {
  const byKey = new Map(groups.map((g) => [groupNoiseKey(g.dims), g]));
  const filled = partitions.map((dims): GroupAggregate => {
    const key = groupNoiseKey(dims);
    const group = byKey.get(key);
    byKey.delete(key);
    return group
      ? { ...group, dims }
      : {
          dims,
          persons: 0,
          rows: 0,
          sums: new Array<number>(inputCount).fill(0),
          counts: new Array<number>(inputCount).fill(0),
          hash: "",
        };
  });
  return { groups: filled, outside: byKey.size };
}

function numericSetHas(set: NumericSet, value: number): boolean {
  return set.intervals.some(
    (i) =>
      (!i.lo || value > i.lo.value || (i.lo.inclusive && value === i.lo.value)) &&
      (!i.hi || value < i.hi.value || (i.hi.inclusive && value === i.hi.value)),
  );
}
