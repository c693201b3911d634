import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fixtureCatalogue, TestParser } from "../../test/parse";
import { type ConsentSource, compileGuarded, materialisedTableSql } from "./compile";

const catalogue = fixtureCatalogue();
const MANY_CODED = 1;
const SQL =
  "SELECT condition_code, count(*) AS n, count(DISTINCT person_id) FROM condition_occurrence GROUP BY condition_code";

let instance: DuckDBInstance;
let db: DuckDBConnection;
let parser: TestParser;

/**
 * Person 1 has 50 distinct condition codes, three rows each; persons 2..21 have two codes
 * each, one row per code.
 */
beforeEach(async () => {
  instance = await DuckDBInstance.create(":memory:");
  db = await instance.connect();
  parser = await TestParser.create();
  await db.run(`CREATE TABLE dataset_condition_occurrence AS
    SELECT ${MANY_CODED}::BIGINT AS person_id, 'C' || lpad(CAST(code AS VARCHAR), 2, '0') AS condition_code,
           DATE '2020-01-01' AS condition_start_date
    FROM range(50) AS codes(code), range(3) AS copies(copy)
    UNION ALL
    SELECT p::BIGINT, 'C' || lpad(CAST((p * 7 + k) % 50 AS VARCHAR), 2, '0'), DATE '2020-01-01'
    FROM range(2, 22) AS persons(p), range(2) AS codes(k)`);
  await db.run(
    "CREATE TABLE consent_t AS SELECT range::BIGINT AS person_id, range::INTEGER AS idx FROM range(1, 22)",
  );
});
afterEach(() => {
  parser.close();
  db.closeSync();
  instance.closeSync();
});

const FILTERED: ConsentSource = { consentTable: "consent_t", materialised: {} };

async function runTable(
  groupsPerPerson?: { max: number; salt: string },
  consent: ConsentSource = FILTERED,
  sql = SQL,
) {
  const compiled = compileGuarded(await parser.plan(sql, catalogue), catalogue, {
    consent,
    runTable: "run_1",
    consentedCount: 1000,
    contributionCap: 10,
    ...(groupsPerPerson ? { groupsPerPerson } : {}),
  });
  for (const step of [compiled.perPerson, compiled.boundGroupsPerPerson, compiled.groups]) {
    if (step) await db.run(step.sql, step.params);
  }
  const rows = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjectsJson();
  return {
    compiled,
    // Persons are keyed by consented position; consent_t puts person p at position p.
    perPerson: await rows("SELECT pidx AS pid, d0, r FROM run_1 ORDER BY pid, d0"),
    persons: Number((await rows("SELECT sum(persons) AS n FROM run_1_groups"))[0]?.n ?? Number.NaN),
  };
}

describe("the per-person table of an event-level query", () => {
  it("keeps at most the bound's groups of a person, with all their rows", async () => {
    const { perPerson, persons } = await runTable({ max: 5, salt: "salt-a" });
    const manyCoded = perPerson.filter((row) => Number(row.pid) === MANY_CODED);
    expect(manyCoded).toHaveLength(5);
    for (const row of manyCoded) expect(Number(row.r)).toBe(3);
    // Everyone under the bound keeps every group.
    expect(perPerson.filter((row) => Number(row.pid) !== MANY_CODED)).toHaveLength(40);
    expect(persons).toBe(5 + 40);
  });

  it("picks the same groups for the same salt and other groups for another", async () => {
    const picked = async (salt: string) =>
      (await runTable({ max: 5, salt })).perPerson
        .filter((row) => Number(row.pid) === MANY_CODED)
        .map((row) => String(row.d0));
    const first = await picked("salt-a");
    expect(await picked("salt-a")).toEqual(first);
    expect(await picked("salt-b")).not.toEqual(first);
  });

  it("binds the salt and the bound as parameters", async () => {
    const { compiled } = await runTable({ max: 5, salt: "salt-a" });
    expect(compiled.boundGroupsPerPerson?.sql).not.toContain("salt-a");
    expect(compiled.boundGroupsPerPerson?.params).toEqual([5, "salt-a"]);
  });

  it("is unbounded without the option (the person-level compilation)", async () => {
    const { perPerson } = await runTable();
    expect(perPerson.filter((row) => Number(row.pid) === MANY_CODED)).toHaveLength(50);
  });
});

describe("the consent filter, filtered and materialised", () => {
  const materialised: ConsentSource = {
    consentTable: "consent_t",
    materialised: { condition_occurrence: "consented_t_condition_occurrence" },
  };
  /** Person 1 withdraws: the consent table keeps persons 2..21 at positions 0..19. */
  async function withdrawManyCoded() {
    await db.run(
      "CREATE OR REPLACE TABLE consent_t AS SELECT range::BIGINT AS person_id, (range - 2)::INTEGER AS idx FROM range(2, 22)",
    );
    await db.run(
      materialisedTableSql(
        "condition_occurrence",
        "consent_t",
        "consented_t_condition_occurrence",
      ).replace("TEMP TABLE", "TABLE"),
    );
  }

  it("counts the same rows on both paths and never a person outside the consent table", async () => {
    await withdrawManyCoded();
    const filtered = await runTable(undefined, FILTERED);
    const fromSubset = await runTable(undefined, materialised);
    expect(fromSubset.perPerson).toEqual(filtered.perPerson);
    expect(fromSubset.persons).toBe(filtered.persons);
    // 20 persons with two codes each; person 1 (50 codes) counts nowhere, on either path.
    expect(fromSubset.persons).toBe(40);
    // Positions, not person ids: person 2 is at 0, nobody at position -1 (person 1).
    const positions = new Set(fromSubset.perPerson.map((row) => Number(row.pid)));
    expect([...positions].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("reads a joined table from its subset and a membership from the dataset, never the consent table", async () => {
    const plan = await parser.plan(
      "SELECT condition_code, count(DISTINCT person_id) FROM condition_occurrence WHERE person_id IN (SELECT person_id FROM condition_occurrence WHERE condition_code = 'I10') GROUP BY condition_code",
      catalogue,
    );
    const compiled = compileGuarded(plan, catalogue, {
      consent: materialised,
      runTable: "run_1",
      consentedCount: 20,
      contributionCap: 10,
    });
    const statements = [compiled.perPerson, compiled.groups, compiled.inclusions("all")];
    for (const step of statements) expect(step?.sql).not.toMatch(/consent_t\b/);
    expect(compiled.perPerson?.sql).toContain("FROM consented_t_condition_occurrence t0");
    expect(compiled.perPerson?.sql).toContain("FROM dataset_condition_occurrence m");
  });

  describe("with only some tables materialised", () => {
    /** Persons 1..21, odd ids F; person 1 (withdrawn below) is F. */
    const withPersons = async () => {
      await db.run(`CREATE OR REPLACE TABLE dataset_person AS
        SELECT range::BIGINT AS person_id, 1960::INTEGER AS year_of_birth,
               CASE WHEN range % 2 = 1 THEN 'F' ELSE 'M' END AS sex, 'North' AS region
        FROM range(1, 22)`);
      await withdrawManyCoded();
      await db.run(
        materialisedTableSql("person", "consent_t", "consented_t_person").replace(
          "TEMP TABLE",
          "TABLE",
        ),
      );
    };
    const personOnly: ConsentSource = {
      consentTable: "consent_t",
      materialised: { person: "consented_t_person" },
    };

    it("lets a joined subset carry the restriction: no consent table, the same answer", async () => {
      await withPersons();
      const sql =
        "SELECT sex, count(*) AS n, count(DISTINCT person_id) FROM condition_occurrence JOIN person USING (person_id) GROUP BY sex";
      const filtered = await runTable(undefined, FILTERED, sql);
      const mixed = await runTable(undefined, personOnly, sql);
      expect(mixed.perPerson).toEqual(filtered.perPerson);
      // Persons 2..21, one sex each; person 1 (withdrawn, 150 rows) counts nowhere.
      expect(mixed.persons).toBe(20);
      const perPersonSql = mixed.compiled.perPerson?.sql ?? "";
      expect(perPersonSql).not.toMatch(/consent_t\b/);
      expect(perPersonSql).toContain("dataset_condition_occurrence t0");
      expect(perPersonSql).toContain('t1."consent#idx" AS pidx');
    });

    it("still joins the consent table when the subset is only in a membership", async () => {
      await withPersons();
      const sql =
        "SELECT condition_code, count(DISTINCT person_id) FROM condition_occurrence WHERE person_id IN (SELECT person_id FROM person WHERE sex = 'F') GROUP BY condition_code";
      const filtered = await runTable(undefined, FILTERED, sql);
      const mixed = await runTable(undefined, personOnly, sql);
      expect(mixed.compiled.perPerson?.sql).toContain("JOIN consent_t consented");
      expect(mixed.perPerson).toEqual(filtered.perPerson);
      // The ten F persons 3..21 with two codes each; person 1 (F, withdrawn) nowhere.
      expect(mixed.persons).toBe(20);
    });
  });
});
