import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RARE_CODE } from "../../test/fixtures";
import { createHarness, expectOk, type Harness } from "../../test/harness";

/**
 * Issue #10, "Rephrasings pay or collapse": sticky noise only helps if every cheap rephrasing
 * of a question is the same canonical query. Otherwise each phrasing is a fresh noise sample,
 * and averaging them recovers the exact count. Given the public declared domains
 * (year_of_birth in [1900, 2026], sex in {F, M}, condition codes from a vocabulary, dates in
 * the observation window), all phrasings below say the same thing about the same rows.
 */

const BASE =
  "SELECT year(c.condition_start_date) AS y, floor(p.year_of_birth / 1000) * 1000 AS born, count(DISTINCT person_id) AS persons, count(*) AS diagnoses FROM person p JOIN condition_occurrence c USING (person_id) WHERE c.condition_code = 'E11.9' GROUP BY y, born";

const PHRASINGS: Array<[string, string]> = [
  ["as asked", BASE],
  [
    "bounds outside the declared range",
    BASE.replace("WHERE", "WHERE p.year_of_birth BETWEEN 1800 AND 2100 AND"),
  ],
  [
    ">= / <= on the declared range instead of BETWEEN",
    BASE.replace("WHERE", "WHERE p.year_of_birth >= 1900 AND p.year_of_birth <= 2026 AND"),
  ],
  ["<> a value that cannot occur", BASE.replace("WHERE", "WHERE p.sex <> 'X' AND")],
  ["a tautological IN over the value set", BASE.replace("WHERE", "WHERE p.sex IN ('F', 'M') AND")],
  [
    "a no-op exclusion of a code outside the vocabulary",
    BASE.replace(
      "WHERE",
      "WHERE person_id NOT IN (SELECT person_id FROM condition_occurrence WHERE condition_code = 'ZZ99.9') AND",
    ),
  ],
  ["an equivalent bin width (500)", BASE.replaceAll("/ 1000) * 1000", "/ 500) * 500")],
  ["an equivalent bin width (2000)", BASE.replaceAll("/ 1000) * 1000", "/ 2000) * 2000")],
  [
    "LIKE covering the same subset of the vocabulary",
    BASE.replace("c.condition_code = 'E11.9'", "c.condition_code LIKE 'E11.9%'"),
  ],
  [
    "date_trunc('year') instead of year()",
    BASE.replace("year(c.condition_start_date)", "date_trunc('year', c.condition_start_date)"),
  ],
  [
    "a date window wider than the declared one",
    BASE.replace("WHERE", "WHERE c.condition_start_date BETWEEN '1990-01-01' AND '2030-12-31' AND"),
  ],
];

/** The released numbers, without the researcher's own labels (the dimension columns). */
function measuresOnly(outcome: ReturnType<typeof expectOk>) {
  const { columns, rows } = outcome.researcherResult;
  const measureColumns = columns.flatMap((c, i) => (c.kind === "dimension" ? [] : [i]));
  return rows.map((row) => measureColumns.map((i) => row[i]));
}

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

describe("rephrasings collapse", () => {
  it("gives ten cheap equivalent phrasings one query hash and one released answer", async () => {
    expect(PHRASINGS.length).toBeGreaterThanOrEqual(10);
    const outcomes = [];
    for (const [, sql] of PHRASINGS) outcomes.push(expectOk(await h.run(sql)));
    const hashes = new Set(outcomes.map((o) => o.researcherResult.queryHash));
    expect(hashes.size).toBe(1);
    const first = outcomes[0];
    if (!first) throw new Error("no outcome");
    const answer = measuresOnly(first);
    // Something was released (the 2020 group holds 40 persons), so the comparison has teeth.
    expect(answer.length).toBeGreaterThan(0);
    for (const [i, outcome] of outcomes.entries()) {
      expect(measuresOnly(outcome), PHRASINGS[i]?.[0]).toEqual(answer);
      expect(outcome.receipt.queryHash).toBe(first.receipt.queryHash);
    }
  });

  it("keeps the researcher's labels", async () => {
    const [trunc] = [
      expectOk(
        await h.run(
          BASE.replace(
            "year(c.condition_start_date)",
            "date_trunc('year', c.condition_start_date)",
          ).replaceAll("/ 1000) * 1000", "/ 500) * 500"),
        ),
      ),
    ];
    const plain = expectOk(await h.run(BASE));
    // Every declared year is a candidate group (public partitions): find 2020's row.
    const row = (o: typeof plain | undefined, year: unknown) =>
      o?.researcherResult.rows.find((r) => r[0] === year)?.slice(0, 2);
    expect(row(trunc, "2020-01-01")).toEqual(["2020-01-01", 1500]);
    expect(row(plain, 2020)).toEqual([2020, 1000]);
  });

  it("a cohort exclusion of a code that cannot occur is the cohort without it", async () => {
    const cohort = {
      inclusion: [{ domain: "condition" as const, codes: ["E11.9"] }],
      exclusion: [] as Array<{ domain: "condition"; codes: string[] }>,
      output: { groupBy: ["sex" as const] },
    };
    const without = expectOk(await h.run({ cohort }));
    const withNoOp = expectOk(
      await h.run({
        cohort: { ...cohort, exclusion: [{ domain: "condition", codes: ["ZZ99.9", "XX*"] }] },
      }),
    );
    expect(withNoOp.researcherResult.queryHash).toBe(without.researcherResult.queryHash);
    expect(withNoOp.researcherResult.rows).toEqual(without.researcherResult.rows);
  });
});

describe("different questions stay different", () => {
  it("gives non-equivalent queries different hashes", async () => {
    const variants = [
      BASE,
      // A real restriction: the declared domain does not say nobody was born before 1950.
      BASE.replace("WHERE", "WHERE p.year_of_birth >= 1950 AND"),
      BASE.replace("WHERE", "WHERE p.sex = 'F' AND"),
      // A real exclusion: a code of the vocabulary (that one person has).
      BASE.replace(
        "WHERE",
        `WHERE person_id NOT IN (SELECT person_id FROM condition_occurrence WHERE condition_code = '${RARE_CODE}') AND`,
      ),
      BASE.replaceAll("/ 1000) * 1000", "/ 10) * 10"),
      BASE.replace("year(c.condition_start_date)", "month(c.condition_start_date)"),
      BASE.replace("c.condition_code = 'E11.9'", "c.condition_code LIKE 'E11%'"),
      BASE.replace("WHERE", "WHERE c.condition_start_date >= '2020-06-01' AND"),
    ];
    const hashes = [];
    for (const sql of variants) {
      const validation = await h.engine.validate(sql, h.dataset);
      if (!validation.ok) throw new Error(`refused: ${validation.rule}`);
      hashes.push(validation.queryHash);
    }
    expect(new Set(hashes).size).toBe(variants.length);
  });
});
