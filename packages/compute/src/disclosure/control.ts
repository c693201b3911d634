import type { DisclosureParams } from "@opencohort/validators";
import type { ValueInput } from "../query/compile";
import { sameInput } from "../query/compile";
import type { Measure, QueryPlan } from "../query/plan";
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

export function discloseGroups(
  plan: QueryPlan,
  inputs: ValueInput[],
  groups: GroupAggregate[],
  context: DisclosureContext,
): DisclosedResult {
  const { params } = context;
  const components = noiseComponents(plan, inputs);
  const epsilon = params.epsilonPerQuery / components.length;
  // person has one row per person; any other table may have many, up to the governed cap.
  const cap = plan.tables.length === 1 && plan.tables[0] === "person" ? 1 : params.contributionCap;
  const rows: CellValue[][] = [];
  const releasedHashes: string[] = [];
  let suppressedByNoise = 0;

  for (const group of groups) {
    const groupKey = JSON.stringify(group.dims, (_, v) =>
      typeof v === "bigint" ? v.toString() : v,
    );
    const noise = (component: Component, sensitivity: number) =>
      stickyLaplace(
        context.secret,
        `${context.noiseKeyPrefix}|${groupKey}|${component}`,
        sensitivity / epsilon,
      );
    const noisyPersons = group.persons + noise("persons", 1);
    if (group.persons < params.minCellSize || noisyPersons < params.minCellSize) {
      suppressedByNoise++;
      continue;
    }
    const measureValue = (m: Measure): CellValue => {
      switch (m.kind) {
        case "count_persons":
          return Math.max(0, roundToBase(noisyPersons, params.roundingBase));
        case "count_rows":
          return Math.max(0, roundToBase(group.rows + noise("rows", cap), params.roundingBase));
        case "sum": {
          const j = inputs.findIndex((input) => sameInput(input, m));
          const sensitivity = cap * Math.max(Math.abs(m.lo), Math.abs(m.hi));
          return round2((group.sums[j] ?? 0) + noise(`sum:${j}`, sensitivity));
        }
        case "avg": {
          const j = inputs.findIndex((input) => sameInput(input, m));
          const mid = (m.lo + m.hi) / 2;
          const count = (group.counts[j] ?? 0) + noise(`avg-count:${j}`, cap);
          if (count < 1) return null;
          const centred = (group.sums[j] ?? 0) - mid * (group.counts[j] ?? 0);
          const noisyCentred = centred + noise(`avg-sum:${j}`, (cap * (m.hi - m.lo)) / 2);
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
