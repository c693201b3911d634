import { describe, expect, it } from "vitest";
import { valueInputs } from "../query/compile";
import { numericComparison } from "../query/constraints";
import type { ColumnRef, QueryPlan } from "../query/plan";
import { normalUpperTail, queryAccounting } from "./accounting";
import { type ContributionBounds, contributionBounds, MAX_GROUPS_PER_PERSON } from "./bounds";
import {
  DATA_PARTITION_DELTA,
  discloseGroups,
  type GroupAggregate,
  groupNoiseKey,
  noiseComponents,
  noiseScales,
  releaseThreshold,
} from "./control";
import { stickyGaussian } from "./noise";

const secret = Buffer.from("unit-test-secret-0123456789");
const params = { minCellSize: 11, roundingBase: 5, epsilonPerQuery: 1, contributionCap: 10 };
const value = { table: "measurement" as const, column: "value_as_number", type: "DOUBLE" as const };

const unit: ColumnRef = { table: "measurement", column: "unit", type: "VARCHAR" };
const sex: ColumnRef = { table: "person", column: "sex", type: "VARCHAR" };

/** GROUP BY measurement.unit (event-level) by default, or by another column. */
function plan(measures: QueryPlan["measures"], dimension: ColumnRef = unit): QueryPlan {
  return {
    tables: dimension.table === "person" ? ["measurement", "person"] : ["measurement"],
    filters: [{ column: value, constraint: numericComparison(">", 0, false) }],
    memberships: [],
    dimensions: [{ kind: "column", column: dimension }],
    measures,
    outputs: [
      { name: dimension.column, ref: { dimension: 0 } },
      ...measures.map((_, i) => ({ name: `m${i}`, ref: { measure: i } })),
    ],
  };
}

const boundsOf = (p: QueryPlan): ContributionBounds =>
  contributionBounds(p, { personTableVerified: true, contributionCap: params.contributionCap });

const group = (persons: number, extra: Partial<GroupAggregate> = {}): GroupAggregate => ({
  dims: [`g${persons}`],
  persons,
  rows: persons * 2,
  sums: [persons * 2 * 7],
  counts: [persons * 2],
  hash: `h${persons}`,
  ...extra,
});

describe("disclosure control", () => {
  it("releases on the noisy count only and never says how many groups it withheld", () => {
    const p = plan([{ kind: "count_persons" }]);
    const result = discloseGroups(p, [], [group(1), group(200)], {
      secret,
      noiseKeyPrefix: "q",
      params,
      bounds: boundsOf(p),
    });
    const shown = result.rows.map((r) => r[0]);
    expect(shown).not.toContain("g1");
    expect(shown).toContain("g200");
    for (const row of result.rows) expect(Number(row[1]) % 5).toBe(0);
    expect(result.releasedHashes).toEqual(["h200"]);
    expect(Object.keys(result).sort()).toEqual(["releasedHashes", "rows", "uncertainty"]);
  });

  it("releases a group of c persons with probability exp(-(k - c) / b) / 2, as delta assumes", () => {
    // epsilon 1 over one component (persons): b = 1. Over many noise keys the release rate of
    // a one-person group is the per-group delta, a group of exactly k is released half the time.
    const p = plan([{ kind: "count_persons" }], sex);
    const rate = (persons: number) => {
      let released = 0;
      const draws = 4000;
      for (let i = 0; i < draws; i++) {
        const { rows } = discloseGroups(p, [], [group(persons)], {
          secret,
          noiseKeyPrefix: `draw-${i}`,
          params,
          bounds: boundsOf(p),
        });
        released += rows.length;
      }
      return released / draws;
    };
    expect(rate(11)).toBeGreaterThan(0.45);
    expect(rate(11)).toBeLessThan(0.55);
    const expected = Math.exp(-(11 - 9) / 1) / 2; // a group of 9: 0.068
    expect(rate(9)).toBeGreaterThan(expected * 0.7);
    expect(rate(9)).toBeLessThan(expected * 1.3);
  });

  it("releases at k with public partitions and raises the threshold to bound delta otherwise", () => {
    const p = plan([{ kind: "count_persons" }], sex);
    expect(releaseThreshold(p, [], params, boundsOf(p), "public")).toEqual({
      threshold: 11,
      delta: 0,
    });
    // b = 1: t = ceil(1 + ln(1 / 2e-6)) = 15; delta = exp(-14) / 2.
    const data = releaseThreshold(p, [], params, boundsOf(p), "data");
    expect(data.threshold).toBe(15);
    expect(data.delta).toBeCloseTo(Math.exp(-14) / 2, 15);
    expect(data.delta).toBeLessThanOrEqual(DATA_PARTITION_DELTA);
    // Event-level: b = 5 and five groups a person can create.
    const event = plan([{ kind: "count_persons" }]);
    const e = releaseThreshold(event, [], params, boundsOf(event), "data");
    expect(e.threshold).toBe(Math.ceil(1 + 5 * Math.log(MAX_GROUPS_PER_PERSON / 2e-6)));
    expect(e.delta).toBeLessThanOrEqual(DATA_PARTITION_DELTA);
    // Without GROUP BY the one group always exists.
    const noGroups: QueryPlan = {
      ...p,
      dimensions: [],
      outputs: [{ name: "n", ref: { measure: 0 } }],
    };
    expect(releaseThreshold(noGroups, [], params, boundsOf(noGroups), "data")).toEqual({
      threshold: 11,
      delta: 0,
    });
  });

  it("keys the noise of each group by type-tagged values: no two groups share a key", () => {
    const keys = [null, "null", "NULL", Number.NaN, Infinity, -Infinity, 0, "0", 1950, 1950.5].map(
      (v) => groupNoiseKey([v]),
    );
    expect(new Set(keys).size).toBe(keys.length);
    // One number is one group whatever SQL type carried it (BIGINT, DOUBLE).
    expect(groupNoiseKey([1950n])).toBe(groupNoiseKey([1950]));
    expect(groupNoiseKey([-0])).toBe(groupNoiseKey([0]));
    // Values are separated unambiguously.
    expect(groupNoiseKey(["a,b", "c"])).not.toBe(groupNoiseKey(["a", "b,c"]));
  });

  it("splits epsilon across the noise components a query needs", () => {
    const p = plan([
      { kind: "count_rows" },
      { kind: "avg", column: value, lo: 0, hi: 50 },
      { kind: "sum", column: value, lo: 0, hi: 50 },
    ]);
    expect(noiseComponents(p, valueInputs(p))).toEqual([
      "persons",
      "rows",
      "avg-sum:0",
      "avg-count:0",
      "sum:0",
    ]);
  });

  it("keeps averages inside the clamp bounds and close to the truth for large groups", () => {
    const p = plan([{ kind: "avg", column: value, lo: 0, hi: 50 }]);
    const big = group(5000, { sums: [10000 * 7], counts: [10000] });
    const [row] = discloseGroups(p, valueInputs(p), [big], {
      secret,
      noiseKeyPrefix: "q",
      params,
      bounds: boundsOf(p),
    }).rows;
    expect(Number(row?.[1])).toBeGreaterThan(6);
    expect(Number(row?.[1])).toBeLessThan(8);
  });

  it("gives the same answer for the same key and a different one for another query", () => {
    const p = plan([{ kind: "count_rows" }]);
    const context = (noiseKeyPrefix: string) => ({
      secret,
      noiseKeyPrefix,
      params,
      bounds: boundsOf(p),
    });
    const a = discloseGroups(p, [], [group(300)], context("q1"));
    const b = discloseGroups(p, [], [group(300)], context("q1"));
    expect(a.rows).toEqual(b.rows);
    const others = new Set(
      Array.from({ length: 20 }, (_, i) =>
        JSON.stringify(discloseGroups(p, [], [group(300)], context(`q${i + 2}`)).rows),
      ),
    );
    expect(others.size).toBeGreaterThan(1);
  });
});

describe("noise scales", () => {
  const measures: QueryPlan["measures"] = [
    { kind: "count_persons" },
    { kind: "count_rows" },
    { kind: "sum", column: value, lo: 0, hi: 50 },
    { kind: "avg", column: value, lo: 0, hi: 50 },
  ];

  it("scale person-level queries to one person in one group", () => {
    const p = plan(measures, sex);
    expect(boundsOf(p)).toMatchObject({ level: "person", maxGroupsPerPerson: 1 });
    // Five components share epsilon 1; cap 10 rows per person; values within [0, 50].
    const laplace = (scale: number) => ({ mechanism: "laplace", scale });
    expect(Object.fromEntries(noiseScales(p, valueInputs(p), params, boundsOf(p)))).toEqual({
      persons: laplace(1 / 0.2),
      rows: laplace(10 / 0.2),
      "sum:0": laplace((10 * 50) / 0.2),
      "avg-sum:0": laplace((10 * 25) / 0.2),
      "avg-count:0": laplace(10 / 0.2),
    });
  });

  it("multiply every scale, the threshold's included, by the groups one person can reach", () => {
    const personLevel = plan(measures, sex);
    const eventLevel = plan(measures, unit);
    expect(boundsOf(eventLevel)).toMatchObject({
      level: "event",
      maxGroupsPerPerson: MAX_GROUPS_PER_PERSON,
    });
    const person = noiseScales(
      personLevel,
      valueInputs(personLevel),
      params,
      boundsOf(personLevel),
    );
    const event = noiseScales(eventLevel, valueInputs(eventLevel), params, boundsOf(eventLevel));
    expect([...event.keys()]).toEqual([...person.keys()]);
    for (const [component, scale] of person) {
      expect(event.get(component)?.scale).toBeCloseTo(MAX_GROUPS_PER_PERSON * scale.scale, 9);
    }
  });

  it("leave person-level answers exactly as they were (same sticky noise for the same key)", () => {
    const p = plan(measures, sex);
    const groups = [12, 40, 300].map((persons) =>
      group(persons, { dims: [`g${persons}`], hash: `h${persons}` }),
    );
    const result = discloseGroups(p, valueInputs(p), groups, {
      secret,
      noiseKeyPrefix: "pinned",
      params,
      bounds: boundsOf(p),
    });
    // Pinned when the noise key became type-tagged JSON (issue #10); any change here re-draws
    // every person-level answer ever given. The uncertainty beside them changes none.
    expect({ rows: result.rows, releasedHashes: result.releasedHashes }).toEqual({
      rows: [
        ["g40", 45, 95, 8396.45, 16.55],
        ["g300", 305, 570, 2841.32, 7.35],
      ],
      releasedHashes: ["h40", "h300"],
    });
  });
});

describe("uncertainty of released numbers", () => {
  const context = (p: QueryPlan, noiseKeyPrefix: string) => ({
    secret,
    noiseKeyPrefix,
    params,
    bounds: boundsOf(p),
  });

  it("gives each measure cell its noise sd and 95% interval from the public scale, dimensions none", () => {
    const p = plan([{ kind: "count_persons" }, { kind: "count_rows" }], sex);
    const scales = noiseScales(p, [], params, boundsOf(p));
    const result = discloseGroups(p, [], [group(200), group(300)], context(p, "q"));
    expect(result.uncertainty).toHaveLength(result.rows.length);
    for (const [i, row] of result.rows.entries()) {
      const u = result.uncertainty[i] ?? [];
      expect(u[0]).toBeNull();
      for (const [j, component] of [
        [1, "persons"],
        [2, "rows"],
      ] as const) {
        const b = scales.get(component)?.scale as number;
        const value = row[j] as number;
        const half = b * Math.log(20) + params.roundingBase / 2;
        expect(u[j]?.sd).toBeCloseTo(b * Math.SQRT2, 2);
        // Rounded outwards to cents.
        expect(Math.abs((u[j]?.lo as number) - Math.max(0, value - half))).toBeLessThanOrEqual(
          0.01,
        );
        expect(u[j]?.lo).toBeLessThanOrEqual(Math.max(0, value - half));
        expect(Math.abs((u[j]?.hi as number) - (value + half))).toBeLessThanOrEqual(0.01);
        expect(u[j]?.hi).toBeGreaterThanOrEqual(value + half);
      }
    }
  });

  it("depends on the released value only: two groups with the same released count share it", () => {
    const p = plan([{ kind: "count_rows" }], sex);
    const seen = new Map<number, string>();
    let shared = 0;
    for (let i = 0; i < 300; i++) {
      for (const persons of [100, 101]) {
        const r = discloseGroups(p, [], [group(persons)], context(p, `v${i}`));
        const value = r.rows[0]?.[1] as number;
        const u = JSON.stringify(r.uncertainty[0]?.[1]);
        const before = seen.get(value);
        if (before !== undefined) {
          expect(u).toBe(before);
          shared++;
        }
        seen.set(value, u);
      }
    }
    expect(shared).toBeGreaterThan(100);
  });

  it.each([
    ["Laplace (a budget of one query)", params],
    [
      "Gaussian (the governed budget of fifty)",
      { ...params, epsilonPerQuery: 0.1, epsilonBudget: 5 },
    ],
  ])(
    "covers the true count, sum and average in at least about 95%% of draws: %s",
    (_, drawParams) => {
      const mean = 7;
      const p = plan(
        [
          { kind: "count_rows" },
          { kind: "sum", column: value, lo: 0, hi: 50 },
          { kind: "avg", column: value, lo: 0, hi: 50 },
        ],
        sex,
      );
      const g = group(400, { rows: 800, sums: [800 * mean], counts: [800] });
      const truth = [800, 800 * mean, mean];
      const covered = [0, 0, 0];
      const draws = 3000;
      for (let i = 0; i < draws; i++) {
        const r = discloseGroups(p, valueInputs(p), [g], {
          ...context(p, `c${i}`),
          params: drawParams,
        });
        for (let m = 0; m < 3; m++) {
          const u = r.uncertainty[0]?.[m + 1];
          if (u && u.lo <= (truth[m] as number) && (truth[m] as number) <= u.hi)
            covered[m] = (covered[m] ?? 0) + 1;
        }
      }
      const [count, sum, avg] = covered.map((c) => c / draws) as [number, number, number];
      expect(count).toBeGreaterThan(0.95); // widened by half the rounding base
      expect(sum).toBeGreaterThan(0.935); // exactly the noise's 95%
      expect(sum).toBeLessThan(0.965);
      expect(avg).toBeGreaterThan(0.95); // union bound: conservative
    },
  );

  it("gives an average whose noisy count may be 0 the whole clamp range, a withheld one none", () => {
    const tiny = { ...params, epsilonPerQuery: 0.05 };
    const p = plan([{ kind: "avg", column: value, lo: 0, hi: 50 }], sex);
    let whole = 0;
    for (let i = 0; i < 50; i++) {
      const r = discloseGroups(p, valueInputs(p), [group(400, { sums: [30 * 7], counts: [30] })], {
        ...context(p, `a${i}`),
        params: tiny,
      });
      if (r.rows.length === 0) continue;
      const u = r.uncertainty[0]?.[1];
      if (r.rows[0]?.[1] === null) expect(u).toBeNull();
      else if (u?.lo === 0 && u.hi === 50) whole++;
      if (u) expect(u.sd).toBeLessThanOrEqual(25);
    }
    expect(whole).toBeGreaterThan(10);
  });
});

describe("Gaussian noise under zCDP (a budget of many queries)", () => {
  // The governed defaults: 50 queries of 0.1 out of 5.
  const governed = { ...params, epsilonPerQuery: 0.1, epsilonBudget: 5 };
  const accounting = queryAccounting(governed);
  it("gives each component sigma = D sqrt(G n / (2 rho)): sqrt(G), not G, for event-level queries", () => {
    expect(accounting.mechanism).toBe("gaussian");
    const p = plan([{ kind: "count_persons" }, { kind: "count_rows" }], sex);
    const e = plan([{ kind: "count_persons" }, { kind: "count_rows" }]);
    const person = noiseScales(p, [], governed, boundsOf(p));
    const event = noiseScales(e, [], governed, boundsOf(e));
    expect(person.get("persons")).toEqual({
      mechanism: "gaussian",
      scale: Math.sqrt(2 / (2 * accounting.rho)),
    });
    expect(person.get("rows")?.scale).toBeCloseTo(10 * Math.sqrt(2 / (2 * accounting.rho)), 9);
    expect(event.get("persons")?.scale).toBeCloseTo(
      Math.sqrt(MAX_GROUPS_PER_PERSON) * (person.get("persons")?.scale as number),
      9,
    );
    // Below Laplace's sd at the same epsilon per query (sqrt 2 * 2 / 0.1 = 28.3 here).
    expect(person.get("persons")?.scale).toBeLessThan((Math.SQRT2 * 2) / governed.epsilonPerQuery);
  });

  it("draws noise with the normal's spread: sd sigma, 95% within 1.96 sigma", () => {
    const p = plan([{ kind: "count_persons" }], sex);
    const sigma = noiseScales(p, [], governed, boundsOf(p)).get("persons")?.scale as number;
    const draws = 4000;
    const errors: number[] = [];
    for (let i = 0; i < draws; i++) {
      const key = JSON.stringify([`n${i}`, groupNoiseKey(["g"]), "persons"]);
      errors.push(stickyGaussian(secret, key, sigma));
    }
    const sd = Math.sqrt(errors.reduce((s, x) => s + x * x, 0) / draws);
    expect(sd / sigma).toBeGreaterThan(0.95);
    expect(sd / sigma).toBeLessThan(1.05);
    const inside = errors.filter((x) => Math.abs(x) <= 1.96 * sigma).length / draws;
    expect(inside).toBeGreaterThan(0.94);
    expect(inside).toBeLessThan(0.96);
  });

  it("raises a data-partition threshold until a group of one passes with probability within delta", () => {
    const p = plan([{ kind: "count_persons" }], sex);
    const sigma = noiseScales(p, [], governed, boundsOf(p)).get("persons")?.scale as number;
    const { threshold, delta } = releaseThreshold(p, [], governed, boundsOf(p), "data");
    expect(delta).toBeLessThanOrEqual(DATA_PARTITION_DELTA);
    expect(delta).toBeCloseTo(normalUpperTail((threshold - 1) / sigma), 15);
    // The smallest such threshold: one less would cost more than the delta.
    expect(normalUpperTail((threshold - 2) / sigma)).toBeGreaterThan(DATA_PARTITION_DELTA);
  });
});
