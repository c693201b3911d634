import { rm } from "node:fs/promises";
import type { DisclosureParamsInput } from "@opencohort/validators";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  LONE_CENTENARIAN_ID,
  makeTempDir,
  OUTLIER_ID,
  RARE_CODE,
  standardFixture,
  writeFixtureDataset,
} from "../../test/fixtures";
import {
  createHarness,
  expectOk,
  expectRejected,
  type Harness,
  researcherView,
} from "../../test/harness";
import { feasibilityParams, type QueryInput, type RunOutcome } from "../engine";

/**
 * The exact side channels of issue #10, each played as the attacker would. Every test runs
 * the attack twice, over the consented set with the target and without, and compares what
 * the researcher sees. Before the fix, each of these told the two worlds apart every time.
 *
 * A "draw" is one paid query: the attacker may pay for many, so each test repeats the attack
 * with fresh noise (a different epsilon is a different noise key) and bounds how often the
 * two worlds look different.
 */

const TARGET = BigInt(LONE_CENTENARIAN_ID);
let h: Harness;
let withTarget: bigint[];
let withoutTarget: bigint[];

beforeAll(async () => {
  h = await createHarness();
  withTarget = h.ids;
  withoutTarget = h.ids.filter((id) => id !== TARGET);
});
afterAll(async () => {
  await h.close();
});

/**
 * Each attack runs under both noise mechanisms (accounting.ts picks one from the governed
 * parameters): Laplace when a query is its own budget, and Gaussian under zCDP when the budget
 * holds 50 queries, as at the governed defaults (epsilon 0.1 of 5). The Gaussian draws of one
 * query are less noisy at the same epsilonPerQuery; the exact channels must stay closed anyway.
 */
const MECHANISMS = [
  { mechanism: "laplace", queriesPerBudget: undefined },
  { mechanism: "gaussian", queriesPerBudget: 50 },
] as const;
type Mechanism = (typeof MECHANISMS)[number];

/** Standards at `epsilon` per query under `m`: the budget (if any) holds m's query count. */
function standards(
  m: Mechanism,
  params: { minCellSize: number; roundingBase: number; epsilonPerQuery: number },
): DisclosureParamsInput {
  return m.queriesPerBudget === undefined
    ? params
    : { ...params, epsilonBudget: params.epsilonPerQuery * m.queriesPerBudget };
}

/** What the researcher sees, minus what differs on every run (ids, budget left). */
function seen(outcome: RunOutcome) {
  const view = JSON.parse(researcherView(outcome));
  delete view.budgetRemaining;
  delete view.epsilonSpent;
  return JSON.stringify(view);
}

async function worldsDiffer(
  query: string | QueryInput,
  draws: number,
  m: Mechanism,
  params: (i: number) => DisclosureParamsInput,
) {
  let differ = 0;
  for (let i = 0; i < draws; i++) {
    const a = expectOk(await h.run(query, { params: params(i), ids: withTarget }));
    const b = expectOk(await h.run(query, { params: params(i), ids: withoutTarget }));
    expect(a.researcherResult.mechanism).toBe(m.mechanism);
    if (seen(a) !== seen(b)) differ++;
  }
  return differ;
}

describe.each(MECHANISMS)("under $mechanism noise", (m) => {
  /** One persons-only count: all of epsilon on the persons noise. */
  const drawParams = (i: number) =>
    standards(m, { minCellSize: 11, roundingBase: 5, epsilonPerQuery: 0.5 + i / 1000 });

  describe("membership through suppression", () => {
    it("a GROUP BY over the one person with a rare code looks the same with or without them", async () => {
      // Before: suppressedRows was 1 with the target and 0 without, every time.
      const sql = `SELECT sex, count(DISTINCT person_id) AS n FROM person JOIN condition_occurrence USING (person_id) WHERE condition_code = '${RARE_CODE}' GROUP BY sex`;
      expect(await worldsDiffer(sql, 20, m, drawParams)).toBeLessThanOrEqual(1);
    });

    it("a grouped feasibility count of a cohort of one looks the same with or without them", async () => {
      const cohort: QueryInput = {
        cohort: {
          inclusion: [{ domain: "condition", codes: [RARE_CODE] }],
          output: { groupBy: ["sex"] },
        },
      };
      const params = (i: number) => feasibilityParams(drawParams(i));
      expect(await worldsDiffer(cohort, 20, m, params)).toBeLessThanOrEqual(1);
    });
  });

  describe("range creep for a lone person", () => {
    it("does not reveal the birth year of the only person born before 1950", async () => {
      // Before: the suppressed-row count went from 0 to 1 exactly at 1922.
      let differ = 0;
      for (let year = 1915; year <= 1930; year++) {
        const sql = `SELECT sex, count(DISTINCT person_id) FROM person WHERE year_of_birth BETWEEN 1900 AND ${year} GROUP BY sex`;
        const a = expectOk(await h.run(sql, { params: drawParams(0), ids: withTarget }));
        const b = expectOk(await h.run(sql, { params: drawParams(0), ids: withoutTarget }));
        if (seen(a) !== seen(b)) differ++;
      }
      expect(differ).toBeLessThanOrEqual(1);
    });
  });

  describe("no equality oracle", () => {
    it("a predicate that excludes nobody still draws fresh noise, so equal answers prove nothing", async () => {
      // Persons born from 1950 on; the target (1922) is not among them, so excluding the
      // target's codes leaves the same persons. Noise seeded by the person set alone would
      // answer every variant identically, and differently as soon as a variant removed
      // somebody: an exact membership test.
      const base = "SELECT count(DISTINCT person_id) FROM person WHERE year_of_birth >= 1950";
      const params = standards(m, { minCellSize: 11, roundingBase: 1, epsilonPerQuery: 0.5 });
      const reference = expectOk(await h.run(base, { params })).researcherResult.rows;
      // Each variant excludes the target's rare code from a different date on: only the target
      // has the code, and the target is outside the base set, so every variant counts the same
      // persons under a different canonical query.
      const days = ["01", "02", "03", "04", "05", "06", "07", "08"];
      let identical = 0;
      for (const day of days) {
        const variant = `${base} AND person_id NOT IN (SELECT person_id FROM condition_occurrence WHERE condition_code = '${RARE_CODE}' AND condition_start_date >= '2021-01-${day}')`;
        const rows = expectOk(await h.run(variant, { params })).researcherResult.rows;
        if (JSON.stringify(rows) === JSON.stringify(reference)) identical++;
      }
      expect(identical).toBeLessThan(days.length / 2);
    });
  });
});

describe("NULL values against sum and avg", () => {
  let nulls: Harness;
  let dir: string;
  const HIDER = 7001;
  beforeAll(async () => {
    // A person with 500 measurements whose value is NULL. DuckDB's greatest(NULL, 40) is 40,
    // so a NULL slipped past the clamp as the lower bound and past the per-person cap (which
    // counts only non-NULL values): the sum moved by 40 per NULL row.
    const rows = standardFixture();
    rows.person.push({ person_id: HIDER, year_of_birth: 1970, sex: "F", region: "west" });
    for (let i = 0; i < 500; i++) {
      rows.measurement.push({
        person_id: HIDER,
        measurement_code: "4548-4",
        value_as_number: null,
        unit: "%",
        measurement_date: "2021-01-01",
      });
    }
    dir = await makeTempDir();
    await writeFixtureDataset(dir, rows);
    nulls = await createHarness({ dir, ids: rows.person.map((p) => BigInt(p.person_id ?? 0)) });
  });
  afterAll(async () => {
    await nulls.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(
    MECHANISMS.flatMap((m) =>
      [
        "SELECT sum(least(greatest(value_as_number, 40), 50)) AS s FROM measurement",
        "SELECT avg(least(greatest(value_as_number, 40), 50)) AS a, count(DISTINCT person_id) FROM measurement",
      ].map((sql) => ({ sql, m })),
    ),
  )(
    "one person's NULL rows move $sql by no more than the cap allows ($m.mechanism)",
    async ({ sql, m }) => {
      const precise = standards(m, { minCellSize: 2, roundingBase: 1, epsilonPerQuery: 10 });
      const all = nulls.ids;
      const without = all.filter((id) => id !== BigInt(HIDER));
      const a = expectOk(await nulls.run(sql, { params: precise, ids: all }));
      const b = expectOk(await nulls.run(sql, { params: precise, ids: without }));
      const value = (o: typeof a) => Number(o.researcherResult.rows[0]?.[0]);
      // cap 10 values of at most 50: 500, plus noise of scale 500/10 per run (twice);
      // the NULL rows alone would have added 20,000.
      expect(Math.abs(value(a) - value(b))).toBeLessThan(1500);
      if (sql.includes("avg")) expect(Math.abs(value(a) - value(b))).toBeLessThan(5);
    },
  );
});

describe("non-finite bins", () => {
  it.each([
    "SELECT floor(value_as_number / 1e-320) * 1e-320 AS b, count(*) FROM measurement GROUP BY b",
    "SELECT floor(year_of_birth / 1e-300) * 1e-300 AS b, count(*) FROM person GROUP BY b",
  ])("refuses %s (its keys would be Infinity)", async (sql) => {
    expectRejected(await h.run(sql), "bin-width");
  });

  it("keeps a sub-unit width on a bounded column when every bin stays finite", async () => {
    const sql =
      "SELECT floor(days_supply / 0.5) * 0.5 AS b, count(*) FROM drug_exposure GROUP BY b";
    expectOk(await h.run(sql));
  });
});

describe("group limit", () => {
  it("is decided from declared domains and table sizes, not from how many groups exist", async () => {
    // year_of_birth (127 years) x start dates (at most the table's rows) x codes (the value
    // set): the same refusal whatever the consented set, even an empty one.
    const sql =
      "SELECT year_of_birth, condition_start_date, condition_code, count(*) FROM person JOIN condition_occurrence USING (person_id) GROUP BY year_of_birth, condition_start_date, condition_code";
    expectRejected(await h.run(sql), "group-limit");
    expectRejected(await h.run(sql, { ids: [] }), "group-limit");
    expectRejected(await h.run(sql, { ids: [TARGET] }), "group-limit");
  });

  it("spends nothing on a query it refuses for its structure", async () => {
    const before = await h.ledger.spend("0xprobe", "dataset-1", 0);
    const sql =
      "SELECT year_of_birth, condition_start_date, condition_code, count(*) FROM person JOIN condition_occurrence USING (person_id) GROUP BY year_of_birth, condition_start_date, condition_code";
    expectRejected(await h.run(sql, { researcher: "0xprobe" }), "group-limit");
    expect(await h.ledger.spend("0xprobe", "dataset-1", 0)).toEqual(before);
  });
});

describe("public partitions", () => {
  // Gaussian tails are thinner than Laplace's, so at a Laplace-like sd a group of one crosses
  // k = 3 too rarely to be seen without the person in 60 draws: k = 2 there, sd about 2.
  const partitionDraws = {
    laplace: { minCellSize: 3, epsilonPerQuery: 1, maxWith: 1 / 4 },
    gaussian: { minCellSize: 2, epsilonPerQuery: 0.5, maxWith: 1 / 2 },
  };
  it.each(MECHANISMS)(
    "lists a rare year as a candidate with or without the person born in it ($mechanism)",
    async (m) => {
      // Every year of the declared bounds is a candidate group, so the 1922 row appears (by
      // noise) about as often without the centenarian as with them: its presence is no
      // evidence. Before public partitions it could only ever appear with them.
      const sql =
        "SELECT year_of_birth, count(DISTINCT person_id) FROM person GROUP BY year_of_birth";
      let withShown = 0;
      let withoutShown = 0;
      const draws = 60;
      const { minCellSize, epsilonPerQuery, maxWith } = partitionDraws[m.mechanism];
      const loose = (i: number) =>
        standards(m, { minCellSize, roundingBase: 1, epsilonPerQuery: epsilonPerQuery + i / 1000 });
      for (let i = 0; i < draws; i++) {
        const a = expectOk(await h.run(sql, { params: loose(i), ids: withTarget }));
        const b = expectOk(await h.run(sql, { params: loose(i), ids: withoutTarget }));
        expect(a.researcherResult.delta).toBe(0);
        expect(a.researcherResult.mechanism).toBe(m.mechanism);
        if (a.researcherResult.rows.some((r) => r[0] === 1922)) withShown++;
        if (b.researcherResult.rows.some((r) => r[0] === 1922)) withoutShown++;
      }
      // Laplace: P(1 + Lap(1) >= 3) = 0.068 and P(0 + Lap(1) >= 3) = 0.025, within e^epsilon.
      // Gaussian (sigma 1.99): P(1 + N >= 2) = 0.31 and P(0 + N >= 2) = 0.16.
      expect(withShown).toBeLessThan(draws * maxWith);
      expect(withoutShown).toBeGreaterThan(0);
    },
  );

  it("charges delta only where the candidate groups come from the data", async () => {
    const declared = expectOk(
      await h.run("SELECT age_band(year_of_birth, 10) AS band, count(*) FROM person GROUP BY band"),
    );
    expect(declared.researcherResult.delta).toBe(0);
    expect(declared.receipt.delta).toBe(0);
    // A DOUBLE grouped as is: its values can only come from the data.
    const fromData = expectOk(
      await h.run(
        "SELECT value_as_number, count(DISTINCT person_id) FROM measurement GROUP BY value_as_number",
      ),
    );
    expect(fromData.researcherResult.delta).toBeGreaterThan(0);
    expect(fromData.receipt.delta).toBe(fromData.researcherResult.delta);
  });
});

describe("the outlier is still clamped", () => {
  it.each(MECHANISMS)(
    "keeps one HbA1c of 1,000,000 from moving a sum by more than the bound ($mechanism)",
    async (m) => {
      const sql = "SELECT sum(value_as_number) FROM measurement";
      const precise = standards(m, { minCellSize: 2, roundingBase: 1, epsilonPerQuery: 10 });
      const a = expectOk(await h.run(sql, { params: precise, ids: h.ids }));
      const b = expectOk(
        await h.run(sql, { params: precise, ids: h.ids.filter((id) => id !== BigInt(OUTLIER_ID)) }),
      );
      const diff =
        Number(a.researcherResult.rows[0]?.[0]) - Number(b.researcherResult.rows[0]?.[0]);
      expect(Math.abs(diff)).toBeLessThan(1000);
    },
  );
});
