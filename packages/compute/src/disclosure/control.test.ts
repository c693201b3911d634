import { describe, expect, it } from "vitest";
import { valueInputs } from "../query/compile";
import { numericComparison } from "../query/constraints";
import type { QueryPlan } from "../query/plan";
import { discloseGroups, type GroupAggregate, noiseComponents } from "./control";

const secret = Buffer.from("unit-test-secret-0123456789");
const params = { minCellSize: 11, roundingBase: 5, epsilonPerQuery: 1, contributionCap: 10 };
const value = { table: "measurement" as const, column: "value_as_number", type: "DOUBLE" as const };

function plan(measures: QueryPlan["measures"]): QueryPlan {
  return {
    tables: ["measurement"],
    filters: [{ column: value, constraint: numericComparison(">", 0, false) }],
    memberships: [],
    dimensions: [
      { kind: "column", column: { table: "measurement", column: "unit", type: "VARCHAR" } },
    ],
    measures,
    outputs: [
      { name: "unit", ref: { dimension: 0 } },
      ...measures.map((_, i) => ({ name: `m${i}`, ref: { measure: i } })),
    ],
  };
}

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
    }).rows;
    expect(Number(row?.[1])).toBeGreaterThan(6);
    expect(Number(row?.[1])).toBeLessThan(8);
  });

  it("gives the same answer for the same key and a different one for another query", () => {
    const p = plan([{ kind: "count_rows" }]);
    const a = discloseGroups(p, [], [group(300)], { secret, noiseKeyPrefix: "q1", params });
    const b = discloseGroups(p, [], [group(300)], { secret, noiseKeyPrefix: "q1", params });
    expect(a.rows).toEqual(b.rows);
    const others = new Set(
      Array.from({ length: 20 }, (_, i) =>
        JSON.stringify(
          discloseGroups(p, [], [group(300)], { secret, noiseKeyPrefix: `q${i + 2}`, params }).rows,
        ),
      ),
    );
    expect(others.size).toBeGreaterThan(1);
  });
});
