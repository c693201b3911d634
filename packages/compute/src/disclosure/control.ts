import type { CellUncertainty, DisclosureParams } from "@opencohort/validators";
import { canonicalDimensionValue } from "../query/canonical";
import type { ValueInput } from "../query/compile";
import { sameInput } from "../query/compile";
import type { Measure, QueryPlan } from "../query/plan";
import { type Noise, noiseHalfWidth, noiseSd, noiseUpperTail, queryAccounting } from "./accounting";
import type { ContributionBounds } from "./bounds";
import { roundToBase, stickyGaussian, stickyLaplace } from "./noise";

/**
 * Disclosure control on aggregated groups. Per group, with n noise components sharing the
 * query's privacy cost (accounting.ts: Gaussian noise under zCDP, each component rho / n, or
 * Laplace, each epsilon / n):
 * - persons: true distinct persons + noise of sensitivity 1. The group is released only if this NOISY
 *   count reaches the release threshold. There is no threshold on the true count: a hard one
 *   makes the release itself an exact test ("at least k"), and every group below it an exact
 *   channel. The threshold is k when the candidate groups are public (partitions.ts); when
 *   they come from the data it is raised until a group of one person passes with probability
 *   at most DATA_PARTITION_DELTA (releaseThreshold), the delta the query is charged.
 * - count(*): capped rows + noise of sensitivity cap, rounded.
 * - sum: clamped, capped sum + noise of sensitivity cap * max(|lo|, |hi|).
 * - avg: (noisy centred sum) / (noisy count) + midpoint, clamped into [lo, hi].
 * Counts are rounded to the rounding base after the noise; negative counts become 0.
 * cap is the bounds' rows per group. A person reaches G groups (1 for person-level queries,
 * see bounds.ts): Laplace scales are multiplied by G (L1), Gaussian sigmas by sqrt(G) (L2).
 *
 * Nothing here reports how many groups were withheld: that number is exact.
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
  /** The noisy persons count a group needs (releaseThreshold); k when absent. */
  threshold?: number;
}

export type CellValue = string | number | null;

export interface DisclosedResult {
  rows: CellValue[][];
  /** Aligned with rows: each measure's noise sd and 95% interval, null for dimensions. */
  uncertainty: Array<Array<CellUncertainty | null>>;
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
 * The noise of each component, from one person's largest effect on it (its sensitivity D)
 * and the G groups that person can reach, with n components:
 * - Laplace: scale G D n / epsilon (the L1 norm of a person's effect over the whole vector is
 *   at most G D per component, each component gets epsilon / n);
 * - Gaussian: sigma D sqrt(G n / (2 rho)). A person moves at most G cells of each component
 *   by D, so the vector's L2 sensitivity weighted by 1 / sigma is sqrt(sum G D^2 / sigma^2) =
 *   sqrt(2 rho): the release is rho-zCDP (Gaussian mechanism: Delta^2 / (2 sigma^2)).
 */
export function noiseScales(
  plan: QueryPlan,
  inputs: ValueInput[],
  params: DisclosureParams,
  bounds: ContributionBounds,
): Map<Component, Noise> {
  const components = noiseComponents(plan, inputs);
  const accounting = queryAccounting(params);
  const n = components.length;
  const groups = bounds.maxGroupsPerPerson;
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
  const perSensitivity =
    accounting.mechanism === "gaussian"
      ? Math.sqrt((groups * n) / (2 * accounting.rho))
      : (groups * n) / accounting.epsilon;
  return new Map(
    components.map((c) => [
      c,
      { mechanism: accounting.mechanism, scale: sensitivity(c) * perSensitivity },
    ]),
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
  const uncertainty: Array<Array<CellUncertainty | null>> = [];
  const releasedHashes: string[] = [];
  const threshold = context.threshold ?? params.minCellSize;
  const scaleOf = (component: Component): Noise => {
    const noise = scales.get(component);
    if (noise === undefined) throw new Error(`no noise scale for ${component}`);
    return noise;
  };

  for (const group of groups) {
    // Canonical values: two phrasings of the same partition key a group's noise alike.
    const groupKey = groupNoiseKey(
      group.dims.map((v, i) => {
        const dimension = plan.dimensions[i];
        return dimension ? canonicalDimensionValue(dimension, v) : v;
      }),
    );
    const noise = (component: Component) => {
      const { mechanism, scale } = scaleOf(component);
      const key = JSON.stringify([context.noiseKeyPrefix, groupKey, component]);
      return mechanism === "gaussian"
        ? stickyGaussian(context.secret, key, scale)
        : stickyLaplace(context.secret, key, scale);
    };
    const noisyPersons = group.persons + noise("persons");
    if (!(noisyPersons >= threshold)) continue;
    const measureCell = (m: Measure): [CellValue, CellUncertainty | null] => {
      switch (m.kind) {
        case "count_persons": {
          const value = Math.max(0, roundToBase(noisyPersons, params.roundingBase));
          return [value, countUncertainty(value, scaleOf("persons"), params.roundingBase)];
        }
        case "count_rows": {
          const noisy = group.rows + noise("rows");
          const value = Math.max(0, roundToBase(noisy, params.roundingBase));
          return [value, countUncertainty(value, scaleOf("rows"), params.roundingBase)];
        }
        case "sum": {
          const j = inputs.findIndex((input) => sameInput(input, m));
          const value = round2((group.sums[j] ?? 0) + noise(`sum:${j}`));
          return [value, sumUncertainty(value, scaleOf(`sum:${j}`))];
        }
        case "avg": {
          const j = inputs.findIndex((input) => sameInput(input, m));
          const mid = (m.lo + m.hi) / 2;
          const count = (group.counts[j] ?? 0) + noise(`avg-count:${j}`);
          if (count < 1) return [null, null];
          const centred = (group.sums[j] ?? 0) - mid * (group.counts[j] ?? 0);
          const noisyCentred = centred + noise(`avg-sum:${j}`);
          const value = round2(Math.min(m.hi, Math.max(m.lo, mid + noisyCentred / count)));
          return [
            value,
            avgUncertainty(value, noisyCentred, count, m, {
              sum: scaleOf(`avg-sum:${j}`),
              count: scaleOf(`avg-count:${j}`),
            }),
          ];
        }
      }
    };
    const cells = plan.outputs.map((output): [CellValue, CellUncertainty | null] =>
      "dimension" in output.ref
        ? [dimensionValue(group.dims[output.ref.dimension]), null]
        : measureCell(plan.measures[output.ref.measure] as Measure),
    );
    rows.push(cells.map(([value]) => value));
    uncertainty.push(cells.map(([, u]) => u));
    // An empty public partition has no persons to include.
    if (group.hash !== "") releasedHashes.push(group.hash);
  }
  return { rows, uncertainty, releasedHashes };
}

// ------------------------------------------------------------------ uncertainty
//
// Every interval below is computed from public parameters (the noise of the cell's
// component, the rounding step) and noisy values, never from an exact one: a count's from its
// released value; an average's from its own noisy sum and noisy count, drawn with their share
// of epsilon like every component (the whole vector of noisy components is what the query's
// epsilon pays for, so any function of them is free post-processing).

/**
 * A noisy count rounded to `base`: value -/+ (t + base / 2), never below 0, where
 * P(|noise| > t) = 5% (Laplace: b ln 20; Gaussian: 1.96 sigma).
 */
export function countUncertainty(value: number, noise: Noise, base: number): CellUncertainty {
  const half = noiseHalfWidth(noise, 0.05) + base / 2;
  return {
    sd: round2(noiseSd(noise)),
    lo: Math.max(0, floor2(value - half)),
    hi: ceil2(value + half),
  };
}

/** A noisy sum rounded to cents: value -/+ (t + 0.005), t as for counts. */
export function sumUncertainty(value: number, noise: Noise): CellUncertainty {
  const half = noiseHalfWidth(noise, 0.05) + 0.005;
  return { sd: round2(noiseSd(noise)), lo: floor2(value - half), hi: ceil2(value + half) };
}

/**
 * An average mid + S~/C~ of a noisy centred sum S~ = S + noise and a noisy count C~ = C +
 * noise. With |noise| <= t at 97.5% on each (95% jointly; Laplace b ln 40, Gaussian 2.24
 * sigma), the true S/C lies between the extremes of (S~ -/+ tS) / (C~ -/+ tC), clipped to the
 * clamp range; when C~ - tC <= 0 the count may be 0 and the interval is the clamp range.
 * sd: the delta method, sqrt(sdS^2 + (avg - mid)^2 sdC^2) / C~, at most half the clamp range
 * (no value confined to [lo, hi] varies more).
 */
export function avgUncertainty(
  value: number,
  noisyCentred: number,
  noisyCount: number,
  range: { lo: number; hi: number },
  noises: { sum: Noise; count: Noise },
): CellUncertainty {
  const mid = (range.lo + range.hi) / 2;
  const sd = Math.min(
    (range.hi - range.lo) / 2,
    Math.hypot(noiseSd(noises.sum), (value - mid) * noiseSd(noises.count)) / noisyCount,
  );
  const ts = noiseHalfWidth(noises.sum, 0.025);
  const tc = noiseHalfWidth(noises.count, 0.025);
  const clip = (x: number) => Math.min(range.hi, Math.max(range.lo, x));
  if (!(noisyCount - tc > 0)) return { sd: round2(sd), lo: range.lo, hi: range.hi };
  const corners = [noisyCentred - ts, noisyCentred + ts].flatMap((s) =>
    [noisyCount - tc, noisyCount + tc].map((c) => s / c),
  );
  return {
    sd: round2(sd),
    lo: clip(floor2(mid + Math.min(...corners) - 0.005)),
    hi: clip(ceil2(mid + Math.max(...corners) + 0.005)),
  };
}

function floor2(value: number): number {
  return Math.floor(value * 100) / 100;
}

function ceil2(value: number): number {
  return Math.ceil(value * 100) / 100;
}

/**
 * The largest delta one query may cost when its candidate groups come from the data. Far
 * below 1 / (persons in any dataset), as (epsilon, delta)-DP asks.
 */
export const DATA_PARTITION_DELTA = 1e-6;

/**
 * The release threshold and the delta it costs. With public partitions (every candidate group
 * is known without the data) the threshold is k and costs nothing: a group's appearance is a
 * function of its noisy count only. With data partitions, adding one person can create a
 * group of one that did not exist, released with probability P(1 + noise >= t) (Laplace:
 * exp(-(t - 1) / b) / 2; Gaussian: the normal tail at (t - 1) / sigma) for the persons noise,
 * in each of the maxGroupsPerPerson groups the person can reach. The threshold t is the
 * smallest at least k that keeps that under DATA_PARTITION_DELTA. Without GROUP BY the one
 * group always exists: no delta.
 */
export function releaseThreshold(
  plan: QueryPlan,
  inputs: ValueInput[],
  params: DisclosureParams,
  bounds: ContributionBounds,
  partitions: "public" | "data",
): { threshold: number; delta: number } {
  if (partitions === "public" || plan.dimensions.length === 0) {
    return { threshold: params.minCellSize, delta: 0 };
  }
  const noise = noiseScales(plan, inputs, params, bounds).get("persons");
  if (noise === undefined) throw new Error("no noise scale for persons");
  const groups = bounds.maxGroupsPerPerson;
  const deltaAt = (t: number) => Math.min(1, groups * noiseUpperTail(noise, t - 1));
  // The tail is decreasing: bisect for the smallest integer threshold within delta.
  let lo = params.minCellSize;
  if (deltaAt(lo) <= DATA_PARTITION_DELTA) return { threshold: lo, delta: deltaAt(lo) };
  let hi = lo + 1;
  while (deltaAt(hi) > DATA_PARTITION_DELTA) hi = lo + 2 * (hi - lo);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (deltaAt(mid) <= DATA_PARTITION_DELTA) hi = mid;
    else lo = mid;
  }
  return { threshold: hi, delta: deltaAt(hi) };
}

/**
 * A group's key in the noise key: every value tagged with its type, the list encoded as
 * JSON, so no two different groups share a key (NULL, the text "null", +Inf, -Inf and NaN
 * are five keys) while one number has one key whatever its SQL type (1950 as BIGINT and as
 * DOUBLE are the same group of a rephrased query).
 */
export function groupNoiseKey(values: unknown[]): string {
  return JSON.stringify(values.map(tagValue));
}

function tagValue(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "bigint") return `n:${value.toString()}`;
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "n:nan";
    if (value === Number.POSITIVE_INFINITY) return "n:+inf";
    if (value === Number.NEGATIVE_INFINITY) return "n:-inf";
    // -0 and 0 are one group; integers print without exponent up to 2^53 and beyond.
    if (Number.isInteger(value)) return `n:${BigInt(value).toString()}`;
    return `n:${String(value)}`;
  }
  if (typeof value === "string") return `s:${value}`;
  if (typeof value === "boolean") return `b:${value}`;
  throw new Error(`unexpected dimension value of type ${typeof value}`);
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
