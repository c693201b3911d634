import { describe, expect, it } from "vitest";
import { valueInputs } from "../query/compile";
import { numericComparison } from "../query/constraints";
import type { ColumnRef, QueryPlan } from "../query/plan";
import { type ContributionBounds, contributionBounds, MAX_GROUPS_PER_PERSON } from "./bounds";
import { discloseGroups, type GroupAggregate, noiseComponents, noiseScales } from "./control";

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
  it("suppresses groups under k and never shows a count below the threshold's noise", () => {
    const p = plan([{ kind: "count_persons" }]);
    const result = discloseGroups(p, [], [group(5), group(10), group(200)], {
      secret,
      noiseKeyPrefix: "q",
      params,
      bounds: boundsOf(p),
    });
    const shown = result.rows.map((r) => r[0]);
    expect(shown).not.toContain("g5");
    expect(shown).not.toContain("g10");
    expect(shown).toContain("g200");
    for (const row of result.rows) expect(Number(row[1]) % 5).toBe(0);
    expect(result.suppressedByNoise).toBe(2);
    expect(result.releasedHashes).toEqual(["h200"]);
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
    expect(Object.fromEntries(noiseScales(p, valueInputs(p), params, boundsOf(p)))).toEqual({
      persons: 1 / 0.2,
      rows: 10 / 0.2,
      "sum:0": (10 * 50) / 0.2,
      "avg-sum:0": (10 * 25) / 0.2,
      "avg-count:0": 10 / 0.2,
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
      expect(event.get(component)).toBeCloseTo(MAX_GROUPS_PER_PERSON * scale, 9);
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
    // Released by the engine before event-level queries were bounded; any change here re-draws
    // every person-level answer ever given.
    expect(result).toEqual({
      rows: [
        ["g40", 35, 95, -1588.38, 17.48],
        ["g300", 300, 645, 4606.74, 6.66],
      ],
      suppressedByNoise: 1,
      releasedHashes: ["h40", "h300"],
    });
  });
});
