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
  dataset: { personTableVerified: boolean; contributionCap: number },
): ContributionBounds {
  // A person-table column has one value per person only if the person table has one row per
  // person; with duplicated rows a person could carry two sexes, i.e. sit in two groups.
  const onePerPerson =
    plan.dimensions.length === 0 ||
    (dataset.personTableVerified && plan.dimensions.every((d) => d.column.table === "person"));
  const rowsArePersons =
    dataset.personTableVerified && plan.tables.length === 1 && plan.tables[0] === "person";
  return {
    level: onePerPerson ? "person" : "event",
    maxGroupsPerPerson: onePerPerson ? 1 : MAX_GROUPS_PER_PERSON,
    maxRowsPerGroup: rowsArePersons ? 1 : dataset.contributionCap,
    rowsArePersons,
  };
}
