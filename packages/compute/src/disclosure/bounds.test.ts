import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureCatalogue, TestParser } from "../../test/parse";
import { contributionBounds, MAX_GROUPS_PER_PERSON } from "./bounds";

const catalogue = fixtureCatalogue();
let parser: TestParser;
beforeAll(async () => {
  parser = await TestParser.create();
});
afterAll(() => parser.close());

const boundsOf = async (sql: string, personTableVerified = true) =>
  contributionBounds(await parser.plan(sql, catalogue), {
    personTableVerified,
    contributionCap: 10,
    catalogue,
  });

describe("contribution bounds", () => {
  it.each([
    "SELECT count(*) FROM condition_occurrence",
    "SELECT sex, age_band(year_of_birth, 10) AS band, count(*) FROM person GROUP BY sex, band",
    "SELECT region, count(*) FROM person JOIN visit_occurrence USING (person_id) GROUP BY region",
    "SELECT sex, count(*) FROM person WHERE person_id IN (SELECT person_id FROM condition_occurrence WHERE condition_code = 'E11.9') GROUP BY sex",
  ])("are person-level when every dimension is a person column: %s", async (sql) => {
    expect(await boundsOf(sql)).toMatchObject({ level: "person", maxGroupsPerPerson: 1 });
  });

  it.each([
    "SELECT condition_code, count(DISTINCT person_id) FROM condition_occurrence GROUP BY condition_code",
    "SELECT year(drug_exposure_start_date), count(*) FROM drug_exposure GROUP BY 1",
  ])("are event-level when a dimension comes from an event table: %s", async (sql) => {
    expect(await boundsOf(sql)).toMatchObject({
      level: "event",
      maxGroupsPerPerson: MAX_GROUPS_PER_PERSON,
      enforceGroupsPerPerson: true,
    });
  });

  it.each([
    // Four declared visit types; sex is one value per person of the verified person table.
    [
      "SELECT sex, visit_type, count(*) FROM person JOIN visit_occurrence USING (person_id) GROUP BY sex, visit_type",
      true,
      4,
    ],
    // Six declared codes, filtered to two.
    [
      "SELECT condition_code, count(*) FROM condition_occurrence WHERE condition_code IN ('I10', 'E11.9') GROUP BY condition_code",
      true,
      2,
    ],
    // An unverified person table lets a person carry both sexes: 2 x 4 = 8, over the bound.
    [
      "SELECT sex, visit_type, count(*) FROM person JOIN visit_occurrence USING (person_id) GROUP BY sex, visit_type",
      false,
      MAX_GROUPS_PER_PERSON,
    ],
  ] as const)(
    "take a smaller bound from declared domains: %s (verified %s)",
    async (sql, verified, expected) => {
      const bounds = await boundsOf(sql, verified);
      expect(bounds).toMatchObject({ level: "event", maxGroupsPerPerson: expected });
      expect(bounds.enforceGroupsPerPerson).toBe(expected === MAX_GROUPS_PER_PERSON);
    },
  );

  it("keep the general bound without the declarations", async () => {
    const sql =
      "SELECT sex, visit_type, count(*) FROM person JOIN visit_occurrence USING (person_id) GROUP BY sex, visit_type";
    const bounds = contributionBounds(await parser.plan(sql, catalogue), {
      personTableVerified: true,
      contributionCap: 10,
    });
    expect(bounds).toMatchObject({
      maxGroupsPerPerson: MAX_GROUPS_PER_PERSON,
      enforceGroupsPerPerson: true,
    });
  });

  it("are event-level for person columns when the person table may repeat a person", async () => {
    const sql = "SELECT sex, count(*) FROM person GROUP BY sex";
    expect(await boundsOf(sql, false)).toMatchObject({ level: "event", rowsArePersons: false });
    // Without dimensions there is one group, whatever the table holds.
    expect(await boundsOf("SELECT count(*) FROM person", false)).toMatchObject({
      level: "person",
      maxRowsPerGroup: 10,
    });
  });

  it("count one row per person only when the verified person table is read alone", async () => {
    expect(await boundsOf("SELECT count(*) FROM person")).toMatchObject({
      rowsArePersons: true,
      maxRowsPerGroup: 1,
    });
    expect(
      await boundsOf("SELECT count(*) FROM person JOIN visit_occurrence USING (person_id)"),
    ).toMatchObject({ rowsArePersons: false, maxRowsPerGroup: 10 });
  });
});
