import type { DatasetCatalogue } from "../catalogue/dataset";
import { dimensionDomainSize } from "../query/canonical";
import type { QueryPlan } from "../query/plan";

/**
 * How far one person can move a query's released vector. The noise is scaled to it, so the
 * whole vector is epsilon-DP per person and charging epsilon once per query is honest.
 *
 * Each group's noise covers one person's contribution to that group (at most
 * `maxRowsPerGroup` rows). A person who can appear in G groups moves G cells at once, so the
 * loss is G times that; the Laplace scales are multiplied by `maxGroupsPerPerson` (the L0
 * bound of Google's DP SQL `max_groups_contributed`).
 */

/**
 * L0 bound of event-level queries. Larger keeps more of a many-coded person's data at the
 * price of that many times the noise on every cell; 5 keeps the noise of typical cohorts
 * within a rounding base or two while a person with hundreds of codes cannot dominate.
 */
export const MAX_GROUPS_PER_PERSON = 5;

export interface ContributionBounds {
  /**
   * "person": every dimension is a property of the person (or there are none), so each
   * person is in one group. "event": a person can be in several (GROUP BY condition_code)
   * and keeps at most MAX_GROUPS_PER_PERSON of them, chosen by a salted hash.
   */
  level: "person" | "event";
  maxGroupsPerPerson: number;
  /**
   * Event-level only: whether the engine must drop groups of persons over the bound. Not
   * when the declared domains of the event dimensions hold at most MAX_GROUPS_PER_PERSON
   * combinations: the bound is then that product, and no person can reach more groups
   * (a dataset's declared domains are verified when it opens).
   */
  enforceGroupsPerPerson: boolean;
  /** Rows of one person that count towards one group: the sensitivity of count, sum, avg. */
  maxRowsPerGroup: number;
  /** Only the verified one-row-per-person table is read: each row is a distinct person. */
  rowsArePersons: boolean;
}

/**
 * Decided from the query's structure and the dataset's verified shape only, never from the
 * values: a data-dependent choice would itself leak.
 */
export function contributionBounds(
  plan: QueryPlan,
  dataset: {
    personTableVerified: boolean;
    contributionCap: number;
    /** The declarations that can tighten the event-level bound (public, data-independent). */
    catalogue?: DatasetCatalogue;
  },
): ContributionBounds {
  // A person-table column has one value per person only if the person table has one row per
  // person; with duplicated rows a person could carry two sexes, i.e. sit in two groups.
  const onePerPerson =
    plan.dimensions.length === 0 ||
    (dataset.personTableVerified && plan.dimensions.every((d) => d.column.table === "person"));
  const rowsArePersons =
    dataset.personTableVerified && plan.tables.length === 1 && plan.tables[0] === "person";
  const declared = onePerPerson ? 1 : declaredGroupsPerPerson(plan, dataset);
  return {
    level: onePerPerson ? "person" : "event",
    maxGroupsPerPerson: Math.min(declared ?? MAX_GROUPS_PER_PERSON, MAX_GROUPS_PER_PERSON),
    enforceGroupsPerPerson:
      !onePerPerson && (declared === undefined || declared > MAX_GROUPS_PER_PERSON),
    maxRowsPerGroup: rowsArePersons ? 1 : dataset.contributionCap,
    rowsArePersons,
  };
}

/**
 * How many groups one person can be in at most, from declarations alone: the product of the
 * declared domain sizes of the dimensions that can vary within a person (every dimension, or
 * only the non-person ones when the person table holds one row per person). `sex, visit_type`
 * with four declared visit types: 4. Undefined when a dimension has no declared domain.
 */
function declaredGroupsPerPerson(
  plan: QueryPlan,
  dataset: { personTableVerified: boolean; catalogue?: DatasetCatalogue },
): number | undefined {
  const { catalogue } = dataset;
  if (!catalogue) return undefined;
  let product = 1;
  for (const dimension of plan.dimensions) {
    if (dataset.personTableVerified && dimension.column.table === "person") continue;
    const size = dimensionDomainSize(dimension, plan, catalogue);
    if (size === undefined) return undefined;
    product *= Math.max(1, size);
  }
  return product;
}
