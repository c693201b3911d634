import type { DatasetCatalogue } from "../catalogue/dataset";
import type { ColumnConstraint } from "../query/constraints";
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

/** Values a dimension produces from declarations alone, NULL first; undefined if unknown. */
export function dimensionDomain(
  dimension: Dimension,
  plan: QueryPlan,
  catalogue: DatasetCatalogue,
  limit: number,
): DomainValue[] | undefined {
  const spec = catalogue.tables
    .find((t) => t.name === dimension.column.table)
    ?.columns.find((c) => c.name === dimension.column.column);
  const bounds = spec?.bounds;
  const integer = dimension.column.type === "INTEGER" || dimension.column.type === "BIGINT";
  const range = (from: number, to: number, step: number, limitTo = limit) => {
    if (!Number.isFinite(from) || !Number.isFinite(to) || (to - from) / step + 1 > limitTo)
      return undefined;
    const values: number[] = [];
    for (let i = 0; from + i * step <= to; i++) values.push(from + i * step);
    return values;
  };
  let values: DomainValue[] | undefined;
  switch (dimension.kind) {
    case "date_part":
      values =
        dimension.part === "month"
          ? range(1, 12, 1)
          : dimension.part === "quarter"
            ? range(1, 4, 1)
            : undefined;
      break;
    case "column":
      if (bounds && integer) {
        const filter = plan.filters.find(
          (f) => columnKey(f.column) === columnKey(dimension.column),
        )?.constraint;
        values = range(Math.ceil(bounds.min), Math.floor(bounds.max), 1, limit * 8)?.filter(
          (v) => !filter || satisfies(filter, v),
        );
        if (values && values.length > limit) values = undefined;
      }
      break;
    case "bin": {
      // floor(x / w) * w in the engine; k * w here is the same IEEE product for the same k.
      if (bounds) {
        const w = dimension.width;
        const first = Math.floor(bounds.min / w);
        const last = Math.floor(bounds.max / w);
        values = range(first, last, 1)?.map((k) => k * w);
      }
      break;
    }
    case "age_band":
      if (bounds) {
        const w = dimension.width;
        const youngest = catalogue.referenceYear - bounds.max;
        const oldest = catalogue.referenceYear - bounds.min;
        values = range(Math.floor(youngest / w), Math.floor(oldest / w), 1)?.map((k) => k * w);
      }
      break;
    default:
      values = undefined;
  }
  if (!values) return undefined;
  // NULL is a group too when the column has NULLs; listing it costs nothing if it has none.
  return values.length + 1 > limit ? undefined : [null, ...values];
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

function satisfies(constraint: ColumnConstraint, value: number): boolean {
  if (constraint.kind !== "numeric") return true;
  return constraint.intervals.some(
    (i) =>
      (!i.lo || value > i.lo.value || (i.lo.inclusive && value === i.lo.value)) &&
      (!i.hi || value < i.hi.value || (i.hi.inclusive && value === i.hi.value)),
  );
}
