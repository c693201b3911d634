import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fixtureCatalogue, TestParser } from "../../test/parse";
import { compileGuarded } from "./compile";

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

async function runTable(groupsPerPerson?: { max: number; salt: string }) {
  const compiled = compileGuarded(await parser.plan(SQL, catalogue), catalogue, {
    consentTable: "consent_t",
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
