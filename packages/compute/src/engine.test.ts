import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { queryReceiptSchema, researcherResultSchema } from "@opencohort/validators";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  LONE_CENTENARIAN_ID,
  makeTempDir,
  OUTLIER_ID,
  standardFixture,
  standardPersonIds,
  writeFixtureDataset,
  writeStandardFixture,
} from "../test/fixtures";
import { createHarness, expectOk, expectRejected, type Harness } from "../test/harness";
import { InMemoryBudgetLedger } from "./budget";
import { MAX_GROUPS_PER_PERSON } from "./disclosure/bounds";
import { feasibilityParams } from "./engine";
import { sha256Hex } from "./query/canonical";

/** Near-exact parameters (large epsilon, no rounding) for testing what is counted. */
const precise = { minCellSize: 2, roundingBase: 1, epsilonPerQuery: 10 };

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

describe("consent filtering", () => {
  it("counts only consented persons", async () => {
    const all = expectOk(
      await h.run("SELECT count(DISTINCT person_id) FROM person", { params: precise }),
    );
    expect(all.researcherResult.rows).toEqual([[122]]);
    const some = standardPersonIds().slice(0, 40);
    const part = expectOk(
      await h.run("SELECT count(DISTINCT person_id) FROM person", { params: precise, ids: some }),
    );
    expect(part.researcherResult.rows).toEqual([[40]]);
  });

  it("drops a person who revoked consent from counts and inclusions", async () => {
    const everyone = standardPersonIds();
    const before = expectOk(
      await h.run(
        "SELECT count(DISTINCT person_id) FROM condition_occurrence WHERE condition_code = 'E11.9'",
        { params: precise, ids: everyone },
      ),
    );
    const revoked = everyone.filter((id) => id !== BigInt(OUTLIER_ID));
    const after = expectOk(
      await h.run(
        "SELECT count(DISTINCT person_id) FROM condition_occurrence WHERE condition_code = 'E11.9'",
        { params: precise, ids: revoked },
      ),
    );
    expect(before.researcherResult.rows).toEqual([[42]]);
    expect(after.researcherResult.rows).toEqual([[41]]);
    expect([...before.privateInclusions.personIds]).toContain(BigInt(OUTLIER_ID));
    expect([...after.privateInclusions.personIds]).not.toContain(BigInt(OUTLIER_ID));
  });

  it("accepts any iterable of ids, in any order, with duplicates", async () => {
    const ids = [...standardPersonIds()].reverse();
    const doubled = new Set([...ids, ...ids]);
    const outcome = expectOk(
      await h.run("SELECT count(DISTINCT person_id) FROM person", {
        params: precise,
        ids: doubled,
      }),
    );
    expect(outcome.researcherResult.rows).toEqual([[122]]);
  });
});

describe("privacy budget", () => {
  it("spends epsilon per query and refuses with a clear message once spent", async () => {
    const ledger = new InMemoryBudgetLedger(1);
    const params = { minCellSize: 11, roundingBase: 5, epsilonPerQuery: 0.4 };
    const first = expectOk(await h.run("SELECT count(*) FROM person", { ledger, params }));
    expect(first.researcherResult.budgetRemaining).toBeCloseTo(0.6);
    expectOk(await h.run("SELECT sex, count(*) FROM person GROUP BY sex", { ledger, params }));
    const third = await h.run("SELECT region, count(*) FROM person GROUP BY region", {
      ledger,
      params,
    });
    expect(third.ok).toBe(false);
    if (!third.ok) {
      expect(third.error.code).toBe("budget-exhausted");
      expect(third.error.message).toMatch(/privacy budget .* spent/);
      expect(third.error.budgetRemaining).toBeCloseTo(0.2);
    }
  });

  it("does not spend on rejected queries", async () => {
    const ledger = new InMemoryBudgetLedger(0.5);
    expectRejected(await h.run("SELECT * FROM person", { ledger }), "aggregate-outputs");
    expectOk(await h.run("SELECT count(*) FROM person", { ledger }));
  });

  it("says where in the SQL a refusal applies, in the error and at the end of its message", async () => {
    const outcome = await h.run("SELECT sex,\n  count(*) FRM person GROUP BY sex");
    expectRejected(outcome, "syntax");
    if (outcome.ok) return;
    expect(outcome.error.position).toEqual({ line: 2, column: 16, offset: 27 });
    expect(outcome.error.message).toMatch(/\(at line 2, column 16\)$/);
    expect(outcome.error.message).not.toMatch(/person|FRM/);
  });

  it("keeps budgets per researcher", async () => {
    const ledger = new InMemoryBudgetLedger(0.5);
    expectOk(await h.run("SELECT count(*) FROM person", { ledger, researcher: "a" }));
    expectOk(await h.run("SELECT count(*) FROM person", { ledger, researcher: "b" }));
    const another = "SELECT sex, count(*) FROM person GROUP BY sex";
    expect((await h.run(another, { ledger, researcher: "a" })).ok).toBe(false);
  });

  it("answers an identical repeat with the same answer for free, and only an identical one", async () => {
    const ledger = new InMemoryBudgetLedger(2);
    const params = { minCellSize: 11, roundingBase: 5, epsilonPerQuery: 0.4 };
    const sql = "SELECT sex, count(DISTINCT person_id) FROM person GROUP BY sex";
    const first = expectOk(await h.run(sql, { ledger, params }));
    expect(first.researcherResult).toMatchObject({ epsilonSpent: 0.4, repeated: false });
    expect(first.researcherResult.rho).toBeCloseTo(0.08, 12);
    // Another spelling of the same canonical query, by the same researcher, over the same data.
    const repeat = expectOk(
      await h.run(
        "SELECT sex, count(DISTINCT person_id) FROM person WHERE year_of_birth >= 1900 GROUP BY sex",
        { ledger, params },
      ),
    );
    expect(repeat.researcherResult).toMatchObject({ epsilonSpent: 0, rho: 0, repeated: true });
    expect(repeat.researcherResult.budgetRemaining).toBeCloseTo(1.6);
    expect(repeat.researcherResult.rows).toEqual(first.researcherResult.rows);
    expect(repeat.repeatKey).toBe(first.repeatKey);
    expect(repeat.receipt.epsilonSpent).toBe(0);
    // Another researcher, other consented persons or other parameters pay.
    const other = [
      await h.run(sql, { ledger, params, researcher: "0xother" }),
      await h.run(sql, { ledger, params, ids: h.ids.slice(1) }),
      await h.run(sql, { ledger, params: { ...params, roundingBase: 10 } }),
    ].map((o) => expectOk(o));
    for (const o of other) {
      expect(o.researcherResult.repeated).toBe(false);
      expect(o.repeatKey).not.toBe(first.repeatKey);
    }
  });
});

describe("receipts and inclusions", () => {
  it("gives the same answer through another spelling of the dataset's folder", async () => {
    const sql = "SELECT sex, count(*) AS n FROM person GROUP BY sex";
    const first = expectOk(await h.run(sql));
    // Same folder, same sandbox key: it must keep what opening it found (one row per person).
    const respelled = await h.engine.catalogue(`${h.dir}/`);
    const second = expectOk(
      await h.engine.run({
        dataset: respelled,
        query: { sql },
        consentedPersonIds: h.ids,
        snapshotBlock: 1234n,
        params: first.receipt.params,
        budget: { ledger: h.ledger, researcher: "0xrespelled", datasetId: "respelled" },
      }),
    );
    expect(second.receipt.contributionBounds).toEqual(first.receipt.contributionBounds);
    expect(second.researcherResult.rows).toEqual(first.researcherResult.rows);
  });

  it("returns a receipt matching the shared schema, with the result's hash", async () => {
    const outcome = expectOk(await h.run("SELECT sex, count(*) AS n FROM person GROUP BY sex"));
    const { receipt, researcherResult } = outcome;
    expect(queryReceiptSchema.parse(receipt)).toEqual(receipt);
    expect(researcherResultSchema.parse(researcherResult)).toEqual(researcherResult);
    // Each released count with its noise sd and 95% interval; none for the sex labels.
    expect(researcherResult.columns.map((c) => c.name)).toEqual(["sex", "n"]);
    expect(researcherResult.uncertainty).toHaveLength(researcherResult.rows.length);
    for (const [i, row] of researcherResult.rows.entries()) {
      const [label, count] = researcherResult.uncertainty?.[i] ?? [];
      expect(label).toBeNull();
      // epsilon 0.5 over two components (persons, rows), one row per person: scale 4.
      expect(count?.sd).toBeCloseTo(4 * Math.SQRT2, 2);
      expect(count?.hi).toBeCloseTo((row[1] as number) + 4 * Math.log(20) + 2.5, 1);
    }
    expect(receipt.queryHash).toBe(researcherResult.queryHash);
    expect(receipt.datasetContentHash).toBe(h.dataset.contentHash);
    expect(receipt.consentSnapshotBlock).toBe("1234");
    expect(receipt.params).toMatchObject({
      minCellSize: 11,
      roundingBase: 5,
      epsilonPerQuery: 0.5,
      contributionCap: 10,
    });
    expect(receipt.contributionBounds).toEqual({
      level: "person",
      maxGroupsPerPerson: 1,
      maxRowsPerGroup: 1,
    });
    expect(receipt.resultHash).toBe(
      sha256Hex(
        JSON.stringify({
          columns: researcherResult.columns,
          rows: researcherResult.rows,
        }),
      ),
    );
    expect(receipt.personsIncluded).toBe(122);
    expect(outcome.privateInclusions.personIds.length).toBe(122);
    expect(receipt.referenceId).toBe(researcherResult.referenceId);
  });

  it("keeps included person ids out of everything the researcher sees", async () => {
    const outcome = expectOk(await h.run("SELECT count(DISTINCT person_id) FROM person"));
    const view = JSON.stringify(outcome.researcherResult);
    expect(view).not.toContain(String(LONE_CENTENARIAN_ID));
    expect(view).not.toContain("1001");
    expect(Object.keys(outcome.researcherResult)).not.toContain("personIds");
  });

  it("includes exactly the persons behind the released groups, in consent order", async () => {
    // A consented set that is not a multiple of 8 and starts mid-list, so the bitmap's bytes
    // straddle DuckDB's padded BIT (the worker converts it a byte at a time).
    const consented = [...h.ids].reverse().slice(3);
    const born = new Map(
      standardFixture().person.map((p) => [BigInt(p.person_id ?? 0), Number(p.year_of_birth)]),
    );
    const outcome = expectOk(
      await h.run(
        "SELECT sex, count(DISTINCT person_id) FROM person WHERE year_of_birth < 1975 GROUP BY sex",
        { params: { minCellSize: 2, roundingBase: 1, epsilonPerQuery: 10 }, ids: consented },
      ),
    );
    expect(outcome.researcherResult.rows).toHaveLength(2);
    const expected = consented.filter((id) => (born.get(id) ?? 9999) < 1975);
    expect(expected.length % 8).not.toBe(0);
    expect([...outcome.privateInclusions.personIds]).toEqual(expected);
  });

  it("excludes persons of suppressed groups from the inclusions", async () => {
    // Little noise, so E11.9 (41 persons) passes the threshold and Q87.4 (one) does not.
    const outcome = expectOk(
      await h.run(
        "SELECT condition_code, count(DISTINCT person_id) FROM condition_occurrence GROUP BY condition_code",
        { params: { minCellSize: 11, roundingBase: 5, epsilonPerQuery: 10 } },
      ),
    );
    const ids = [...outcome.privateInclusions.personIds];
    // Q87.4 is suppressed, but the centenarian also has E11.9 (released): included once.
    expect(ids.filter((id) => id === BigInt(LONE_CENTENARIAN_ID))).toHaveLength(1);
    const rare = expectOk(
      await h.run("SELECT count(*) FROM condition_occurrence WHERE condition_code = 'Q87.4'"),
    );
    expect(rare.privateInclusions.personIds.length).toBe(0);
    expect(rare.receipt.personsIncluded).toBe(0);
  });
});

describe("cohort builder", () => {
  it("compiles a definition to SQL that passes validation and runs", async () => {
    const outcome = expectOk(
      await h.run(
        {
          cohort: {
            inclusion: [{ domain: "condition", codes: ["E11*"] }],
            exclusion: [{ domain: "drug", codes: ["C09AA05"] }],
            age: { min: 18, max: 90 },
            output: { groupBy: ["sex"] },
          },
        },
        { params: precise },
      ),
    );
    expect(outcome.researcherResult.columns.map((c) => c.kind)).toEqual(["dimension", "persons"]);
    // Diabetics: persons 1003, 1006, ... (every 3rd of 120) minus those on C09AA05 (every 5th),
    // plus the outlier (1960); the centenarian is older than 90.
    const expected = { F: 0, M: 0 };
    for (let i = 3; i <= 120; i += 3) if (i % 5 !== 0) expected[i % 2 === 0 ? "F" : "M"]++;
    expected.M++;
    expect(outcome.researcherResult.rows).toEqual([
      ["F", expected.F],
      ["M", expected.M],
    ]);
  });

  it("gives the same answer as the equivalent hand-written SQL", async () => {
    const cohort = await h.run({ cohort: { inclusion: [{ domain: "drug", codes: ["A10BA02"] }] } });
    const sql = await h.run(
      "SELECT count(DISTINCT person_id) FROM person WHERE person_id IN (SELECT person_id FROM drug_exposure WHERE drug_code IN ('A10BA02'))",
    );
    expect(expectOk(cohort).researcherResult.queryHash).toBe(
      expectOk(sql).researcherResult.queryHash,
    );
    expect(expectOk(cohort).researcherResult.rows).toEqual(expectOk(sql).researcherResult.rows);
  });

  it("supports windows and measurement value ranges", async () => {
    const outcome = await h.run(
      {
        cohort: {
          inclusion: [
            {
              domain: "measurement",
              codes: ["4548-4"],
              valueRange: { min: 7 },
              window: { from: "2020-01-01", to: "2020-12-31" },
            },
          ],
          sex: ["F", "M"],
          output: { groupBy: ["age_band"], ageBandWidth: 20 },
        },
      },
      { params: precise },
    );
    expectOk(outcome);
  });

  it("refuses an invalid definition without running it", async () => {
    const outcome = await h.run({ cohort: { inclusion: [{ domain: "lab", codes: [] }] } as never });
    expectRejected(outcome, "cohort-definition");
  });

  it("offers coarser parameters for feasibility counts", () => {
    expect(
      feasibilityParams({ minCellSize: 11, roundingBase: 5, epsilonPerQuery: 1 }),
    ).toMatchObject({
      minCellSize: 22,
      roundingBase: 10,
      epsilonPerQuery: 0.1,
    });
  });
});

describe("validate()", () => {
  it("returns the canonical hash for accepted SQL and the rule for refused SQL", async () => {
    const ok = await h.engine.validate("SELECT count(*) FROM person", h.dataset);
    expect(ok.ok && ok.queryHash).toMatch(/^0x[0-9a-f]{64}$/);
    const refused = await h.engine.validate("SELECT * FROM person", h.dataset);
    expect(refused).toMatchObject({ ok: false, rule: "aggregate-outputs" });
    const long = await h.engine.validate(
      `SELECT count(*) FROM person WHERE ${"sex = 'F' AND ".repeat(2000)} TRUE`,
      h.dataset,
    );
    expect(long).toMatchObject({ ok: false, rule: "query-too-long" });
  });
});

describe("groups per person", () => {
  it("keeps person-level answers pinned (re-drawn only by a deliberate noise-key change)", async () => {
    // Pinned again when the noise key became type-tagged and the threshold noisy-only (issue
    // #10). The noise is keyed by the dataset's content hash: a different Parquet writer
    // would re-draw it, which is not what this test is about.
    expect(h.dataset.contentHash).toBe(
      "0xc5d2852c3abbfa02c0cfe656f817d7f2e7e04cc111db04203f3d116422393d09",
    );
    const byBand = expectOk(
      await h.run(
        "SELECT sex, age_band(year_of_birth, 20) AS band, count(DISTINCT person_id) AS persons, count(*) AS n FROM person GROUP BY sex, band",
      ),
    );
    expect([byBand.researcherResult.rows, byBand.researcherResult.delta]).toEqual([
      [
        ["F", 20, 15, 10],
        ["F", 40, 25, 20],
        ["M", 40, 25, 30],
        ["F", 60, 25, 25],
        ["M", 60, 35, 20],
      ],
      // Sex and age bands follow from declarations (value set, bounds): public partitions,
      // no delta.
      0,
    ]);
    const visits = expectOk(
      await h.run(
        "SELECT region, count(*) AS visits, count(DISTINCT person_id) FROM person JOIN visit_occurrence USING (person_id) GROUP BY region",
      ),
    );
    expect(visits.researcherResult.rows).toEqual([
      ["east", 50, 35],
      ["north", 0, 30],
      ["south", 5, 30],
      ["west", 90, 30],
    ]);
    expect(visits.receipt.contributionBounds).toEqual({
      level: "person",
      maxGroupsPerPerson: 1,
      maxRowsPerGroup: 10,
    });
  });

  it("keeps a person with 50 condition codes in at most MAX_GROUPS_PER_PERSON groups", async () => {
    // Each of 50 codes has 10 one-code persons; person 1 has all 50. Unbounded, person 1
    // lifts every code to k = 11 persons; bounded, only the codes person 1 keeps reach k.
    const manyCoded = 1;
    const rows: ReturnType<typeof standardFixture> = {
      person: [],
      condition_occurrence: [],
      drug_exposure: [],
      measurement: [],
      visit_occurrence: [],
    };
    const addPerson = (id: number, codes: string[]) => {
      rows.person.push({ person_id: id, year_of_birth: 1970, sex: "F", region: "north" });
      for (const code of codes) {
        rows.condition_occurrence.push({
          person_id: id,
          condition_code: code,
          condition_start_date: "2020-01-01",
        });
      }
    };
    const codes = Array.from({ length: 50 }, (_, i) => `C${String(i).padStart(2, "0")}`);
    addPerson(manyCoded, codes);
    codes.forEach((code, i) => {
      for (let j = 0; j < 10; j++) addPerson(100 + i * 10 + j, [code]);
    });
    const dir = await makeTempDir();
    // The codes C00..C49 are this test's own vocabulary.
    await writeFixtureDataset(dir, rows, {
      values: { "condition_occurrence.condition_code": codes },
    });
    const ids = rows.person.map((p) => BigInt(p.person_id as number));
    const event = await createHarness({ dir, ids });
    try {
      const sql =
        "SELECT condition_code, count(DISTINCT person_id) FROM condition_occurrence GROUP BY condition_code";
      const params = precise;
      const outcome = expectOk(await event.run(sql, { params }));
      const { researcherResult, receipt } = outcome;
      // Each code has 10 persons, plus person 1 in at most 5 of them: the released counts
      // average about 10.1 (noise: scale 0.5 per code), not the 11 an unbounded person 1
      // would make. The codes come from the data, so the threshold is raised above k = 2 to
      // bound delta (9 here) and a few codes fall under it.
      expect(researcherResult.rows.length).toBeGreaterThanOrEqual(40);
      const total = researcherResult.rows.reduce((sum, row) => sum + Number(row[1]), 0);
      expect(total / researcherResult.rows.length).toBeGreaterThan(9.6);
      expect(total / researcherResult.rows.length).toBeLessThan(10.6);
      expect(receipt.contributionBounds).toEqual({
        level: "event",
        maxGroupsPerPerson: MAX_GROUPS_PER_PERSON,
        maxRowsPerGroup: 10,
      });
      // The persons behind the released codes: ten per code, and person 1 if any kept code
      // was released.
      const inclusions = outcome.privateInclusions.personIds.length;
      expect(inclusions - 10 * researcherResult.rows.length).toBeGreaterThanOrEqual(0);
      expect(inclusions - 10 * researcherResult.rows.length).toBeLessThanOrEqual(1);
      // Same question, same groups kept, same noise.
      const again = expectOk(await event.run(sql, { params }));
      expect(again.researcherResult.rows).toEqual(researcherResult.rows);
      // Three codes by filter: the declared bound is 3, within which no person needs
      // dropping, so the many-coded person counts in each (10 + 1 per code).
      const three = expectOk(
        await event.run(
          "SELECT condition_code, count(DISTINCT person_id) FROM condition_occurrence WHERE condition_code IN ('C00', 'C01', 'C02') GROUP BY condition_code",
          { params },
        ),
      );
      expect(three.receipt.contributionBounds).toEqual({
        level: "event",
        maxGroupsPerPerson: 3,
        maxRowsPerGroup: 10,
      });
      const threeCounts = three.researcherResult.rows.map((row) => Number(row[1]));
      expect(threeCounts).toHaveLength(3);
      expect(threeCounts.reduce((a, b) => a + b, 0) / 3).toBeGreaterThan(10.5);
      expect(three.privateInclusions.personIds.length).toBe(31);
      // A person-level question over the same persons is not bounded.
      const bySex = expectOk(
        await event.run("SELECT sex, count(DISTINCT person_id) FROM person GROUP BY sex", {
          params: precise,
        }),
      );
      expect(bySex.researcherResult.rows).toEqual([["F", 501]]);
      expect(bySex.receipt.contributionBounds.level).toBe("person");
    } finally {
      await event.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("person table with duplicated person_id", () => {
  it("still counts distinct persons (the one-row-per-person shortcut is not taken)", async () => {
    const dir = await makeTempDir();
    const rows = standardFixture();
    const duplicated = rows.person[0];
    for (let i = 0; i < 15 && duplicated; i++) rows.person.push({ ...duplicated });
    await writeFixtureDataset(dir, rows);
    const dup = await createHarness({ dir });
    try {
      const outcome = expectOk(
        await dup.run("SELECT count(DISTINCT person_id) FROM person", { params: precise }),
      );
      expect(outcome.researcherResult.rows).toEqual([[122]]);
      // A lone person repeated 16 times must not pass k = 11 on their own.
      const alone = expectOk(
        await dup.run("SELECT count(*) FROM person", {
          ids: [BigInt(duplicated?.person_id as number)],
        }),
      );
      expect(alone.researcherResult.rows).toEqual([]);
    } finally {
      await dup.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("errors from DuckDB", () => {
  it("reach the log with a reference id, never the researcher", async () => {
    const dir = await writeStandardFixture();
    const broken = await createHarness({ dir, tableStorage: "parquet" });
    try {
      // Corrupt a file after the dataset was verified: DuckDB's error names the file.
      await writeFile(join(dir, "measurement.parquet"), "this is not parquet");
      const outcome = await broken.run("SELECT count(*) FROM measurement");
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.error).toMatchObject({ code: "query-failed", message: "The query failed." });
      expect(JSON.stringify(outcome.error)).not.toContain("parquet");
      const logged = broken.logs.find((l) => l.detail.referenceId === outcome.error.referenceId);
      expect(String(logged?.detail.detail)).toMatch(/parquet/i);
      // Other tables still answer.
      expectOk(await broken.run("SELECT count(*) FROM person"));
    } finally {
      await broken.close();
    }
  });
});
