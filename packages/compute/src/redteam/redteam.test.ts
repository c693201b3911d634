import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LONE_CENTENARIAN_ID, OUTLIER_ID, RARE_CODE, standardPersonIds } from "../../test/fixtures";
import {
  createHarness,
  expectOk,
  expectRejected,
  expectStillServing,
  type Harness,
  researcherView,
} from "../../test/harness";
import { InMemoryBudgetLedger } from "../budget";
import type { RunOutcome } from "../engine";

/**
 * The hostile analyst. Every case checks two things: nothing row-level about the targets
 * (the lone centenarian born 1922 with a rare code, the person with an HbA1c of 1,000,000)
 * reaches the researcher, and the engine keeps serving afterwards.
 */

const TARGET_VALUES = [
  String(LONE_CENTENARIAN_ID),
  String(OUTLIER_ID),
  "1922",
  RARE_CODE,
  "1000000",
  "1e+6",
  "1e6",
];

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

function expectNoTargetValue(outcome: RunOutcome) {
  const view = researcherView(outcome);
  for (const value of TARGET_VALUES) expect(view).not.toContain(value);
  if (outcome.ok) {
    // No released row may stand for fewer than k persons: every persons column is >= k - rounding.
    for (const [i, column] of outcome.researcherResult.columns.entries()) {
      if (column.kind !== "persons") continue;
      for (const row of outcome.researcherResult.rows)
        expect(Number(row[i])).toBeGreaterThanOrEqual(10);
    }
  }
}

async function refused(sql: string, rule?: string) {
  const outcome = await h.run(sql);
  expectRejected(outcome, rule);
  expectNoTargetValue(outcome);
  return outcome;
}

async function answered(sql: string) {
  const outcome = expectOk(await h.run(sql));
  expectNoTargetValue(outcome);
  return outcome;
}

describe("direct read of a column", () => {
  it.each([
    ["SELECT year_of_birth FROM person", "aggregate-outputs"],
    ["SELECT person_id FROM person WHERE year_of_birth = 1922", "person-id-usage"],
    ["SELECT value_as_number FROM measurement", "aggregate-outputs"],
    ["SELECT min(year_of_birth) FROM person", "allowed-aggregates"],
    [
      "SELECT any_value(condition_code) FROM condition_occurrence WHERE condition_code = 'Q87.4'",
      "allowed-aggregates",
    ],
    ["SELECT list(person_id) FROM person", "allowed-aggregates"],
    ["SELECT string_agg(condition_code, ',') FROM condition_occurrence", "allowed-aggregates"],
    ["SELECT arg_max(person_id, year_of_birth) FROM person", "allowed-aggregates"],
  ])("%s", async (sql, rule) => {
    await refused(sql, rule);
    await expectStillServing(h);
  });
});

describe("SELECT *", () => {
  it.each([
    "SELECT * FROM person",
    "SELECT p.* FROM person p",
    "SELECT * EXCLUDE (sex) FROM person",
    "SELECT COLUMNS('year.*') FROM person",
    "SELECT count(*), * FROM person",
    "FROM person",
  ])("%s", async (sql) => {
    await refused(sql);
    await expectStillServing(h);
  });
});

describe("GROUP BY person_id or a unique column", () => {
  it.each([
    "SELECT person_id, count(*) FROM person GROUP BY person_id",
    "SELECT floor(person_id / 1) * 1 AS p, count(*) FROM person GROUP BY p",
  ])("refuses %s", async (sql) => {
    await refused(sql, "person-id-usage");
    await expectStillServing(h);
  });

  it.each([
    "SELECT value_as_number, count(*) FROM measurement GROUP BY value_as_number",
    "SELECT condition_start_date, count(DISTINCT person_id) FROM condition_occurrence GROUP BY condition_start_date",
    "SELECT measurement_date, count(*) FROM measurement GROUP BY measurement_date",
  ])("releases almost none of the one- or two-person groups of %s", async (sql) => {
    // Every group here has one or two persons. Each passes the noisy threshold with a small
    // probability (the query's delta); none is released on its true count.
    const outcome = await answered(sql);
    expect(outcome.researcherResult.rows.length).toBeLessThanOrEqual(3);
    expect(outcome.researcherResult).not.toHaveProperty("suppressedRows");
    await expectStillServing(h);
  });
});

describe("tracker with OR", () => {
  it.each([
    "SELECT count(*) FROM person WHERE (year_of_birth = 1922 AND sex = 'F') OR sex = 'M'",
    "SELECT count(*) FROM person WHERE year_of_birth = 1922 OR region = 'south'",
    "SELECT count(*) FROM person WHERE year_of_birth = 1922 OR year_of_birth > 1950 AND sex = 'M'",
    "SELECT count(*) FROM person WHERE NOT (year_of_birth <> 1922 AND sex <> 'M')",
    "SELECT count(*) FROM person p JOIN condition_occurrence c USING (person_id) WHERE condition_code = 'Q87.4' OR sex = 'M'",
  ])("%s", async (sql) => {
    const outcome = await refused(sql);
    expect(["no-or", "where-predicates"]).toContain(outcome.ok ? "" : outcome.error.rule);
    await expectStillServing(h);
  });
});

describe("difference pair", () => {
  it("refuses person_id in WHERE, in every spelling", async () => {
    for (const sql of [
      `SELECT count(*) FROM person WHERE person_id <> ${LONE_CENTENARIAN_ID}`,
      `SELECT count(*) FROM person WHERE person_id NOT IN (${LONE_CENTENARIAN_ID})`,
      `SELECT count(*) FROM person WHERE person_id < ${LONE_CENTENARIAN_ID}`,
      `SELECT count(*) FROM person p WHERE NOT p.person_id = ${LONE_CENTENARIAN_ID}`,
    ]) {
      await refused(sql, "person-id-usage");
    }
    await expectStillServing(h);
  });

  it("makes attribute differences land on multiples of the rounding base", async () => {
    const pairs = [
      ["SELECT count(*) FROM person", "SELECT count(*) FROM person WHERE year_of_birth <> 1922"],
      [
        "SELECT count(DISTINCT person_id) FROM person",
        `SELECT count(DISTINCT person_id) FROM person WHERE person_id NOT IN (SELECT person_id FROM condition_occurrence WHERE condition_code = '${RARE_CODE}')`,
      ],
      [
        "SELECT sex, count(*) FROM person GROUP BY sex",
        "SELECT sex, count(*) FROM person WHERE year_of_birth >= 1950 GROUP BY sex",
      ],
    ];
    for (const [withTarget, withoutTarget] of pairs) {
      const a = await answered(withTarget as string);
      const b = await answered(withoutTarget as string);
      const last = (o: typeof a) => o.researcherResult.rows.map((r) => Number(r[r.length - 1]));
      for (const [i, value] of last(a).entries()) {
        const difference = value - (last(b)[i] ?? 0);
        // A difference of exactly 1 (the target) can never show: everything is a multiple of 5.
        expect(Math.abs(difference) % 5).toBe(0);
      }
    }
    await expectStillServing(h);
  });
});

describe("threshold edge", () => {
  const ordinary = Array.from({ length: 120 }, (_, i) => BigInt(1001 + i));

  it("shows a group of k - 1 only sometimes (no sharp edge), and a missing row never says why", async () => {
    let shown = 0;
    for (let start = 0; start < 10; start++) {
      const ids = ordinary.slice(start * 10, start * 10 + 10);
      const outcome = expectOk(await h.run("SELECT count(*) FROM person", { ids }));
      shown += outcome.researcherResult.rows.length;
      expect(Object.keys(outcome.researcherResult).sort()).toEqual([
        "budgetRemaining",
        "columns",
        "delta",
        "epsilonSpent",
        "mechanism",
        "queryHash",
        "referenceId",
        "releaseThreshold",
        "repeated",
        "rho",
        "rows",
        "uncertainty",
      ]);
    }
    // P(10 + Laplace(4) >= 11) = 0.39: a release proves nothing about the true count.
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThan(10);
  });

  it("shows a group of exactly k only sometimes (noisy threshold), and rounded", async () => {
    const shown: number[] = [];
    for (let start = 0; start < 20; start++) {
      const ids = [...ordinary.slice(start, start + 10), LONE_CENTENARIAN_ID].map(BigInt);
      const outcome = expectOk(
        await h.run("SELECT count(DISTINCT person_id) FROM person", { ids }),
      );
      for (const row of outcome.researcherResult.rows) shown.push(Number(row[0]));
    }
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(20);
    for (const value of shown) expect(value % 5).toBe(0);
    await expectStillServing(h);
  });
});

describe("repeat-and-average", () => {
  it.each([
    "SELECT sex, count(*) FROM person GROUP BY sex",
    "SELECT region, avg(value_as_number) FROM person JOIN measurement USING (person_id) GROUP BY region",
    "SELECT count(DISTINCT person_id) FROM condition_occurrence WHERE condition_code = 'E11.9'",
  ])("repeating %s gives the same answer", async (sql) => {
    const first = await answered(sql);
    for (let i = 0; i < 5; i++) {
      const again = await answered(sql);
      expect(again.researcherResult.rows).toEqual(first.researcherResult.rows);
    }
  });
});

describe("rephrase-and-average", () => {
  it("gives one answer to every phrasing of one question", async () => {
    const phrasings = [
      "SELECT sex, count(*) FROM person WHERE year_of_birth = 1957 GROUP BY sex",
      "SELECT sex, count(*) FROM person WHERE year_of_birth IN (1957) GROUP BY sex",
      "SELECT sex, count(*) FROM person WHERE year_of_birth BETWEEN 1957 AND 1957 GROUP BY sex",
      "select p.sex as s, COUNT(*) as n from person p where p.year_of_birth >= 1957 and p.year_of_birth < 1958 group by 1",
      "SELECT count(*), sex FROM person WHERE 1957 = year_of_birth GROUP BY sex",
    ];
    const answers = [];
    for (const sql of phrasings) {
      const outcome = await answered(sql);
      answers.push(outcome.researcherResult.queryHash);
    }
    expect(new Set(answers).size).toBe(1);
  });

  it.each([
    "SELECT count(*) FROM person WHERE year_of_birth + 1 = 1923",
    "SELECT count(*) FROM person WHERE year_of_birth - 0 = 1922",
    "SELECT count(*) FROM person WHERE year_of_birth * 1 = 1922",
    "SELECT count(*) FROM person WHERE CAST(year_of_birth AS VARCHAR) = '1922'",
    "SELECT count(*) FROM person WHERE year(make_date(year_of_birth, 1, 1)) = 1922",
  ])("refuses arithmetic rephrasing %s", async (sql) => {
    await refused(sql, "where-predicates");
  });
});

describe("split averaging and range creep are bounded by the budget", () => {
  it("= X / <> X pairs run out of budget", async () => {
    const ledger = new InMemoryBudgetLedger(2.0);
    const totals: number[] = [];
    let refusedAt = -1;
    for (let year = 1950; year < 1970; year++) {
      const eq = await h.run(`SELECT count(*) FROM person WHERE year_of_birth = ${year}`, {
        ledger,
      });
      const ne = await h.run(`SELECT count(*) FROM person WHERE year_of_birth <> ${year}`, {
        ledger,
      });
      if (!eq.ok || !ne.ok) {
        const failed = (!eq.ok ? eq : ne) as Extract<RunOutcome, { ok: false }>;
        expect(failed.error.code).toBe("budget-exhausted");
        expect(failed.error.message).toMatch(/budget/);
        refusedAt = year;
        break;
      }
      totals.push(Number(ne.researcherResult.rows[0]?.[0] ?? 0));
    }
    expect(refusedAt).toBe(1952);
    for (const total of totals) expect(total % 5).toBe(0);
    await expectStillServing(h);
  });

  it("range creep cannot isolate the lone person", async () => {
    const ledger = new InMemoryBudgetLedger(100);
    const narrow = expectOk(
      await h.run("SELECT count(*) FROM person WHERE year_of_birth BETWEEN 1900 AND 1949", {
        ledger,
      }),
    );
    // One person: released only if the noise lifts it past k, and then as a noisy multiple of 5.
    for (const [value] of narrow.researcherResult.rows)
      expect(Number(value)).toBeGreaterThanOrEqual(10);
    const wide = expectOk(
      await h.run("SELECT count(*) FROM person WHERE year_of_birth BETWEEN 1900 AND 1960", {
        ledger,
      }),
    );
    const creep = expectOk(
      await h.run("SELECT count(*) FROM person WHERE year_of_birth BETWEEN 1923 AND 1960", {
        ledger,
      }),
    );
    const difference =
      Number(wide.researcherResult.rows[0]?.[0]) - Number(creep.researcherResult.rows[0]?.[0]);
    expect(Math.abs(difference) % 5).toBe(0);
    expectNoTargetValue(wide);
    expectNoTargetValue(creep);
  });
});

describe("math on person_id", () => {
  it.each([
    "SELECT sum(person_id) FROM person",
    "SELECT avg(person_id) FROM person WHERE year_of_birth = 1922",
    "SELECT count(DISTINCT person_id + 0) FROM person",
    "SELECT count(*) FROM person WHERE person_id % 2 = 0",
    "SELECT person_id % 10 AS d, count(*) FROM person GROUP BY d",
    "SELECT count(*) FROM person WHERE person_id > 9000",
  ])("%s", async (sql) => {
    await refused(sql);
    await expectStillServing(h);
  });
});

describe("NULL counting via division", () => {
  it.each([
    "SELECT sum(1 / (year_of_birth - 1922)) FROM person",
    "SELECT count(*) / (count(*) - 122) FROM person",
    "SELECT avg(CASE WHEN year_of_birth = 1922 THEN 1 ELSE NULL END) FROM person",
    "SELECT count(*) FROM person WHERE year_of_birth / (year_of_birth - 1922) > 0",
    "SELECT sum(nullif(year_of_birth, 1922)) FROM person",
  ])("%s", async (sql) => {
    await refused(sql);
    await expectStillServing(h);
  });
});

describe("outlier via sum/avg of an extreme value", () => {
  it("clamps to declared bounds: avg stays within them, sum shows no trace of 1,000,000", async () => {
    const avg = await answered("SELECT avg(value_as_number) FROM measurement");
    const value = Number(avg.researcherResult.rows[0]?.[0]);
    expect(value).toBeGreaterThanOrEqual(0);
    expect(value).toBeLessThanOrEqual(50);
    const sum = await answered("SELECT sum(value_as_number) FROM measurement");
    expect(Math.abs(Number(sum.researcherResult.rows[0]?.[0]))).toBeLessThan(100_000);
  });

  it("suppresses the outlier's group and refuses unclamped tricks", async () => {
    const high = await answered(
      "SELECT count(*), avg(value_as_number) FROM measurement WHERE value_as_number > 50",
    );
    expect(high.researcherResult.rows).toEqual([]);
    await refused("SELECT avg(value_as_number * 1000) FROM measurement", "allowed-aggregates");
    await refused("SELECT max(value_as_number) FROM measurement", "allowed-aggregates");
    // A researcher clamp wider than the declared bounds is narrowed to them, not trusted.
    const wideClamp = await answered(
      "SELECT avg(least(greatest(value_as_number, -5), 2000000)) FROM measurement",
    );
    expect(Number(wideClamp.researcherResult.rows[0]?.[0])).toBeLessThanOrEqual(50);
    await expectStillServing(h);
  });
});

describe("join to a derived table with arithmetic on keys", () => {
  it.each([
    [
      "SELECT count(*) FROM person p JOIN (SELECT person_id + 1 AS person_id FROM person) d ON p.person_id = d.person_id",
      "no-subqueries",
    ],
    [
      "SELECT count(*) FROM person p JOIN measurement m ON p.person_id = m.person_id + 1",
      "join-on-person-id",
    ],
    [
      "SELECT count(*) FROM person p JOIN measurement m ON p.person_id + 0 = m.person_id",
      "join-on-person-id",
    ],
    [
      "SELECT count(*) FROM person p JOIN measurement m ON p.person_id = m.person_id AND m.value_as_number > 100",
      "join-on-person-id",
    ],
    [
      "SELECT count(*) FROM person p JOIN measurement m ON p.year_of_birth = m.person_id",
      "join-on-person-id",
    ],
    ["SELECT count(*) FROM person p JOIN LATERAL (SELECT 1) x ON true", "no-subqueries"],
  ])("%s", async (sql, rule) => {
    await refused(sql, rule);
    await expectStillServing(h);
  });
});

describe("wide-then-narrow join", () => {
  it("a join fanned out to every table still needs k persons per row", async () => {
    const narrow = await answered(
      `SELECT count(*) FROM person p JOIN condition_occurrence c USING (person_id) JOIN drug_exposure d USING (person_id) JOIN measurement m USING (person_id) JOIN visit_occurrence v USING (person_id) WHERE condition_code = '${RARE_CODE}'`,
    );
    // One person: released only if the noise lifts it past k, and then as a noisy multiple of 5.
    for (const [value] of narrow.researcherResult.rows)
      expect(Number(value)).toBeGreaterThanOrEqual(10);
    const wide = await answered(
      "SELECT sex, count(*), count(DISTINCT person_id) FROM person JOIN visit_occurrence USING (person_id) JOIN condition_occurrence USING (person_id) GROUP BY sex",
    );
    for (const row of wide.researcherResult.rows) expect(Number(row[2])).toBeGreaterThanOrEqual(10);
    await expectStillServing(h);
  });
});

describe("error oracle", () => {
  it.each([
    "SELECT count(*) FROM person WHERE year_of_birth = 1 / 0",
    "SELECT count(*) FROM person WHERE sqrt(-1) > year_of_birth",
    "SELECT error('boom') AS e, count(*) FROM person GROUP BY e",
    "SELECT count(*) FROM person WHERE CAST(region AS INTEGER) = 1",
    "SELECT count(*) FROM person WHERE year_of_birth = CAST(region AS INTEGER)",
    "SELECT sum(CAST(sex AS INTEGER)) FROM person",
    "SELECT count(*) FROM person WHERE year_of_birth = 'not-a-number'",
    "SELECT count(*) FROM condition_occurrence WHERE condition_start_date = 'Q87.4'",
    "SELECT CASE WHEN year_of_birth = 1922 THEN error('x') END AS e, count(*) FROM person GROUP BY e",
  ])("%s", async (sql) => {
    await refused(sql);
    await expectStillServing(h);
  });
});

describe("statement stacking", () => {
  it.each([
    "SELECT 1; DROP TABLE person",
    "SELECT count(*) FROM person; DROP TABLE dataset_person",
    "SELECT count(*) FROM person; SELECT count(*) FROM person",
    "SELECT count(*) FROM person; ATTACH ':memory:' AS x",
    "DROP TABLE dataset_person; SELECT count(*) FROM person",
  ])("%s", async (sql) => {
    await refused(sql, "single-select");
    await expectStillServing(h);
  });
});

describe("COPY ... TO", () => {
  it.each([
    "COPY person TO '{out}'",
    "COPY (SELECT * FROM person) TO '{out}' (FORMAT parquet)",
    "EXPORT DATABASE '{out}'",
  ])("%s", async (template) => {
    const out = join(h.dir, "exfiltrated.csv");
    await refused(template.replace("{out}", out), "single-select");
    expect(existsSync(out)).toBe(false);
    await expectStillServing(h);
  });
});

describe("reading files", () => {
  it.each([
    "SELECT count(*) FROM read_csv('/etc/passwd')",
    "SELECT count(*) FROM read_csv_auto('/etc/passwd')",
    "SELECT count(*) FROM read_text('/etc/hostname')",
    "SELECT count(*) FROM read_blob('/etc/hostname')",
    "SELECT count(*) FROM read_json('/etc/passwd')",
    "SELECT count(*) FROM '/etc/passwd'",
    "SELECT count(*) FROM glob('/*')",
  ])("%s", async (sql) => {
    await refused(sql, "allowed-tables");
    await expectStillServing(h);
  });

  it("cannot reach the dataset's own files around the consent filter", async () => {
    await refused(
      `SELECT count(*) FROM read_parquet('${join(h.dir, "person.parquet")}')`,
      "allowed-tables",
    );
    await refused(`SELECT count(*) FROM '${join(h.dir, "person.parquet")}'`, "allowed-tables");
    await refused("SELECT count(*) FROM dataset_person", "allowed-tables");
    await refused(
      "SELECT count(*) FROM person WHERE region IN (SELECT content FROM read_text('/etc/hostname'))",
      "no-subqueries",
    );
  });
});

describe("ATTACH, INSTALL/LOAD, SET/PRAGMA", () => {
  it.each([
    "ATTACH ':memory:' AS x",
    "ATTACH '/tmp/x.db'",
    "DETACH x",
    "INSTALL httpfs",
    "LOAD httpfs",
    "FORCE INSTALL spatial",
    "SET enable_external_access = true",
    "SET memory_limit = '100GB'",
    "RESET lock_configuration",
    "PRAGMA database_list",
    "CALL pragma_version()",
    "CREATE TABLE x AS SELECT 1",
    "CREATE SECRET s (TYPE s3, KEY_ID 'x', SECRET 'y')",
    "USE x",
  ])("%s", async (sql) => {
    await refused(sql);
    await expectStillServing(h);
  });
});

describe("getenv, duckdb_settings() and other system functions", () => {
  it.each([
    "SELECT getenv('HOME') AS h, count(*) FROM person GROUP BY h",
    "SELECT count(*) FROM person WHERE region = getenv('USER')",
    "SELECT count(*) FROM duckdb_settings()",
    "SELECT count(*) FROM duckdb_tables()",
    "SELECT count(*) FROM duckdb_secrets()",
    "SELECT count(*) FROM duckdb_extensions()",
    "SELECT count(*) FROM pragma_table_info('person')",
    "SELECT count(*) FROM information_schema.tables",
    "SELECT current_setting('memory_limit') AS s, count(*) FROM person GROUP BY s",
    "SELECT version() AS v, count(*) FROM person GROUP BY v",
    "SELECT count(*) FROM which_secret('s3://x', 's3')",
  ])("%s", async (sql) => {
    await refused(sql);
    await expectStillServing(h);
  });
});

describe("huge cross join and range(1e12)", () => {
  it.each([
    "SELECT count(*) FROM range(1e12)",
    "SELECT count(*) FROM range(1000000000000) a, range(1000000000000) b",
    "SELECT count(*) FROM person, measurement, drug_exposure, visit_occurrence",
    "SELECT count(*) FROM person CROSS JOIN measurement",
    "SELECT count(*) FROM generate_series(1, 1000000000000)",
  ])("refuses %s before it runs", async (sql) => {
    await refused(sql);
    await expectStillServing(h);
  });
});

describe("group-key presence", () => {
  it.each([
    "SELECT year_of_birth, count(*) FROM person GROUP BY year_of_birth",
    "SELECT year_of_birth, count(DISTINCT person_id) FROM person WHERE year_of_birth < 1950 GROUP BY year_of_birth",
    "SELECT floor(year_of_birth / 2) * 2 AS y, count(*) FROM person GROUP BY y",
    "SELECT age_band(year_of_birth, 5) AS band, count(*) FROM person GROUP BY band",
    "SELECT condition_code, count(DISTINCT person_id) FROM condition_occurrence GROUP BY condition_code",
    "SELECT left(condition_code, 3) AS chapter, count(*) FROM condition_occurrence GROUP BY chapter",
    "SELECT region, sex, year_of_birth, count(*) FROM person GROUP BY ALL",
  ])("%s", async (sql) => {
    const outcome = await h.run(sql);
    if (outcome.ok && outcome.researcherResult.delta === 0) {
      // Public partitions: every declared year or band is a candidate whether anybody has it
      // or not, so a key's presence is no evidence (channels.test.ts measures that).
      return;
    }
    expectNoTargetValue(outcome);
    if (outcome.ok) {
      const keys = outcome.researcherResult.rows.flatMap((r) => r.slice(0, -1)).map(String);
      expect(keys).not.toContain("1922");
      expect(keys).not.toContain("Q87");
      expect(keys).not.toContain("100"); // the centenarian's age band
      expect(keys).not.toContain("104");
    }
    await expectStillServing(h);
  });

  it("never says how many groups it withheld", async () => {
    const outcome = expectOk(
      await h.run("SELECT region, count(*) FROM person GROUP BY region", {
        ids: standardPersonIds().slice(0, 30),
      }),
    );
    expect(researcherView(outcome)).not.toMatch(/suppress|withheld|small/i);
    expect(outcome.receipt).not.toHaveProperty("suppressedRows");
  });
});

describe("a withdrawn person, on the materialised and the filtered path", () => {
  const precise = { minCellSize: 2, roundingBase: 1, epsilonPerQuery: 10 };
  const everyone = standardPersonIds();
  const withdrawn = everyone.filter((id) => id !== BigInt(LONE_CENTENARIAN_ID));
  // Each reaches the centenarian through another table: a membership, a join, a NOT IN.
  const probes = [
    "SELECT count(DISTINCT person_id) FROM person WHERE person_id IN (SELECT person_id FROM condition_occurrence WHERE condition_code = 'E11.9')",
    "SELECT count(DISTINCT person_id) FROM person JOIN condition_occurrence USING (person_id) WHERE sex = 'F'",
    "SELECT count(DISTINCT person_id) FROM person WHERE person_id NOT IN (SELECT person_id FROM drug_exposure)",
  ];
  let filtered: Harness;
  beforeAll(async () => {
    filtered = await createHarness({ dir: h.dir, materialiseMb: 0 });
  });
  afterAll(async () => {
    await filtered.close();
  });

  async function counts(engine: Harness, ids: bigint[]) {
    const result: number[] = [];
    for (const sql of probes) {
      const outcome = expectOk(await engine.run(sql, { params: precise, ids }));
      if (ids === withdrawn) {
        expect(outcome.privateInclusions.personIds).not.toContain(BigInt(LONE_CENTENARIAN_ID));
      }
      result.push(Number(outcome.researcherResult.rows[0]?.[0]));
    }
    return result;
  }

  it("never counts once consent is withdrawn, even after a snapshot that had them", async () => {
    // The materialised engine first builds the snapshot that still has the centenarian.
    const before = await counts(h, everyone);
    const built = h.engine.sandbox.status().materialisation.built;
    const materialisedAfter = await counts(h, withdrawn);
    const filteredAfter = await counts(filtered, withdrawn);
    // The centenarian counts in each probe while consenting (E11.9, F, no drug).
    expect(materialisedAfter).toEqual(before.map((n) => n - 1));
    expect(filteredAfter).toEqual(materialisedAfter);
    // Answered from the new snapshot's own tables, not the old ones.
    expect(h.engine.sandbox.status().materialisation.built).toBeGreaterThan(built);
    expect(filtered.engine.sandbox.status().materialisation.built).toBe(0);
  });

  it("cannot name a materialised subset or a consent table", async () => {
    const snapshots = h.engine.sandbox.status().materialisation.snapshots;
    const names = snapshots.flatMap((s) => [
      ...s.tables.map((t) => `consented_${s.consentKey}_${t}`),
      `consent_${s.consentKey}`,
    ]);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) await refused(`SELECT count(*) FROM ${name}`, "allowed-tables");
  });
});
