import type { DatasetCatalogue } from "../catalogue/dataset";
import { dimensionDomainSize } from "../query/canonical";
import type { Dimension, QueryPlan } from "../query/plan";
import { reject } from "../query/rules";

/**
 * The group limit, decided from the query's structure and the dataset's public declarations,
 * never from the data. Comparing the true number of groups with a limit would answer a
 * yes/no question about the data exactly (one more group exists if one person has a code);
 * an upper bound computed from declared domains and table sizes answers nothing.
 */

/** Largest |x| / width for which floor(x / width) is still an exact integer in a double. */
const MAX_BIN_INDEX = 2 ** 53;

/**
 * Refuses, before anything is charged or run, a query whose dimensions could produce more
 * than `maxGroups` groups or a non-finite bin. A dimension's number of possible values comes
 * from declarations (value sets, bounds, date ranges, filters on the same column); where
 * nothing is declared, it can still never have more values than its table has rows.
 */
export function checkGroupStructure(
  plan: QueryPlan,
  catalogue: DatasetCatalogue,
  maxGroups: number,
): void {
  let bound = 1;
  for (const dimension of plan.dimensions) {
    if (dimension.kind === "bin") checkBinWidth(dimension, catalogue);
    const table = catalogue.tables.find((t) => t.name === dimension.column.table);
    const rows = table?.rowCount ?? Number.POSITIVE_INFINITY;
    const declared = dimensionDomainSize(dimension, plan, catalogue) ?? Number.POSITIVE_INFINITY;
    bound *= Math.max(1, Math.min(declared, rows));
  }
  if (bound > maxGroups) reject("group-limit", `at most ${maxGroups} groups`);
}

function checkBinWidth(
  dimension: Extract<Dimension, { kind: "bin" }>,
  catalogue: DatasetCatalogue,
) {
  const { width } = dimension;
  if (!Number.isFinite(width) || !(width > 0)) reject("bin-width");
  // floor(x / w) * w stays within |x| for w >= 1 whatever x is; a smaller width needs
  // declared bounds to know that x / w cannot overflow.
  if (width >= 1) return;
  const bounds = catalogue.tables
    .find((t) => t.name === dimension.column.table)
    ?.columns.find((c) => c.name === dimension.column.column)?.bounds;
  if (!bounds) reject("bin-width", "a width under 1 needs declared bounds");
  const largest = Math.max(Math.abs(bounds.min), Math.abs(bounds.max));
  const index = largest / width;
  if (!Number.isFinite(index) || index > MAX_BIN_INDEX) reject("bin-width");
}
