import type { DisclosureParams } from "@opencohort/validators";
import { canonicalDimensionValue } from "../query/canonical";
import type { ValueInput } from "../query/compile";
import { sameInput } from "../query/compile";
import type { Measure, QueryPlan } from "../query/plan";
import type { ContributionBounds } from "./bounds";
import { roundToBase, stickyLaplace } from "./noise";

/**
 * Disclosure control on aggregated groups. Per group, with n noise components sharing the
 * query's epsilon (epsilon / n each):
 * - persons: true distinct persons + Laplace(1/eps). The group is released only if the true
 *   count AND the noisy count reach k, so a group of k-1 never shows and one of exactly k
 *   shows only sometimes (no sharp edge to difference against).
 * - count(*): capped rows + Laplace(cap/eps), rounded.
 * - sum: clamped, capped sum + Laplace(cap * max(|lo|, |hi|) / eps).
 * - avg: (noisy centred sum) / (noisy count) + midpoint, clamped into [lo, hi].
 * Counts are rounded to the rounding base after the noise; negative counts become 0.
 * cap is the bounds' rows per group; every scale is then multiplied by the groups one person
 * can reach (1 for person-level queries), see bounds.ts.
 */

export interface GroupAggregate {
  dims: unknown[];
  persons: number;
  rows: number;
  sums: number[];
  counts: number[];
  hash: string;
}

export interface DisclosureContext {
  secret: Uint8Array;
  /** Canonical query hash, dataset version, consent digest and parameters, joined. */
  noiseKeyPrefix: string;
  params: DisclosureParams;
  bounds: ContributionBounds;
}

export type CellValue = string | number | null;

export interface DisclosedResult {
  rows: CellValue[][];
  /** Groups that passed the hard threshold but not the noisy one. */
  suppressedByNoise: number;
  releasedHashes: string[];
}

type Component = "persons" | "rows" | `sum:${number}` | `avg-sum:${number}` | `avg-count:${number}`;

export function noiseComponents(plan: QueryPlan, inputs: ValueInput[]): Component[] {
  const components = new Set<Component>(["persons"]);
  for (const m of plan.measures) {
    if (m.kind === "count_rows") components.add("rows");
    if (m.kind === "sum" || m.kind === "avg") {
      const j = inputs.findIndex((input) => sameInput(input, m));
      if (m.kind === "sum") components.add(`sum:${j}`);
      else {
        components.add(`avg-sum:${j}`);
        components.add(`avg-count:${j}`);
      }
    }
  }
  return [...components];
}

/**
 * The Laplace scale of each component: one person's largest effect on it, times the groups
 * that person can reach, over the component's share of epsilon.
 */
export function noiseScales(
  plan: QueryPlan,
  inputs: ValueInput[],
  params: DisclosureParams,
  bounds: ContributionBounds,
): Map<Component, number> {
  const components = noiseComponents(plan, inputs);
  const epsilon = params.epsilonPerQuery / components.length;
  const cap = bounds.maxRowsPerGroup;
  const sensitivity = (component: Component): number => {
    if (component === "persons") return 1;
    if (component === "rows") return cap;
    const [kind, index] = component.split(":");
    const input = inputs[Number(index)];
    if (!input) throw new Error(`no value input for ${component}`);
    if (kind === "sum") return cap * Math.max(Math.abs(input.lo), Math.abs(input.hi));
    if (kind === "avg-sum") return (cap * (input.hi - input.lo)) / 2;
    return cap;
  };
  return new Map(
    components.map((c) => [c, (bounds.maxGroupsPerPerson * sensitivity(c)) / epsilon]),
  );
}

export function discloseGroups(
  plan: QueryPlan,
  inputs: ValueInput[],
  groups: GroupAggregate[],
  context: DisclosureContext,
): DisclosedResult {
  const { params } = context;
  const scales = noiseScales(plan, inputs, params, context.bounds);
  const rows: CellValue[][] = [];
  const releasedHashes: string[] = [];
  let suppressedByNoise = 0;

  for (const group of groups) {
    // Canonical values: two phrasings of the same partition key a group's noise alike.
    const canonicalDims = group.dims.map((v, i) => {
      const dimension = plan.dimensions[i];
      return dimension ? canonicalDimensionValue(dimension, v) : v;
    });
    const groupKey = JSON.stringify(canonicalDims, (_, v) =>
      typeof v === "bigint" ? v.toString() : v,
    );
    const noise = (component: Component) => {
      const scale = scales.get(component);
      if (scale === undefined) throw new Error(`no noise scale for ${component}`);
      return stickyLaplace(
        context.secret,
        `${context.noiseKeyPrefix}|${groupKey}|${component}`,
        scale,
      );
    };
    const noisyPersons = group.persons + noise("persons");
    if (group.persons < params.minCellSize || noisyPersons < params.minCellSize) {
      suppressedByNoise++;
      continue;
    }
    const measureValue = (m: Measure): CellValue => {
      switch (m.kind) {
        case "count_persons":
          return Math.max(0, roundToBase(noisyPersons, params.roundingBase));
        case "count_rows":
          return Math.max(0, roundToBase(group.rows + noise("rows"), params.roundingBase));
        case "sum": {
          const j = inputs.findIndex((input) => sameInput(input, m));
          return round2((group.sums[j] ?? 0) + noise(`sum:${j}`));
        }
        case "avg": {
          const j = inputs.findIndex((input) => sameInput(input, m));
          const mid = (m.lo + m.hi) / 2;
          const count = (group.counts[j] ?? 0) + noise(`avg-count:${j}`);
          if (count < 1) return null;
          const centred = (group.sums[j] ?? 0) - mid * (group.counts[j] ?? 0);
          const noisyCentred = centred + noise(`avg-sum:${j}`);
          return round2(Math.min(m.hi, Math.max(m.lo, mid + noisyCentred / count)));
        }
      }
    };
    rows.push(
      plan.outputs.map((output) =>
        "dimension" in output.ref
          ? dimensionValue(group.dims[output.ref.dimension])
          : measureValue(plan.measures[output.ref.measure] as Measure),
      ),
    );
    releasedHashes.push(group.hash);
  }
  return { rows, suppressedByNoise, releasedHashes };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function dimensionValue(value: unknown): CellValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (typeof value === "number" || typeof value === "string") return value;
  return String(value);
}
