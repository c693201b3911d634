import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureCatalogue, TestParser } from "../../test/parse";
import { canonicalHash } from "./canonical";
import { QueryRejection, rejectionPosition, ruleMessages } from "./rules";

const catalogue = fixtureCatalogue();
let parser: TestParser;
beforeAll(async () => {
  parser = await TestParser.create();
});
afterAll(() => parser.close());

const rule = (sql: string) => parser.rule(sql, catalogue);
const hash = async (sql: string) => canonicalHash(await parser.plan(sql, catalogue));

describe("accepted queries", () => {
  it.each([
    "SELECT count(*) FROM person",
    "SELECT sex, count(DISTINCT person_id) FROM person GROUP BY sex",
    "SELECT sex AS s, region, count(*) FROM person WHERE year_of_birth BETWEEN 1950 AND 1990 GROUP BY 1, region ORDER BY 1",
    "SELECT floor(year_of_birth / 10) * 10 AS decade, count(*) FROM person GROUP BY decade",
    "SELECT age_band(year_of_birth, 10) AS band, avg(value_as_number) FROM person JOIN measurement USING (person_id) WHERE measurement_code = '4548-4' GROUP BY band",
    "SELECT year(condition_start_date), left(condition_code, 3), count(DISTINCT person_id) FROM condition_occurrence GROUP BY 1, 2",
    "SELECT avg(least(greatest(m.value_as_number, 4), 15)) FROM measurement m WHERE m.measurement_code IN ('4548-4')",
    "SELECT count(*) FROM person p WHERE p.person_id IN (SELECT person_id FROM condition_occurrence WHERE condition_code LIKE 'E11%') AND person_id NOT IN (SELECT person_id FROM drug_exposure WHERE drug_code = 'A10BA02')",
    "SELECT count(*) FROM condition_occurrence WHERE condition_code = 'E11.9' OR condition_code LIKE 'E10%'",
    "SELECT count(*) FROM condition_occurrence WHERE condition_start_date >= DATE '2020-01-01' AND condition_start_date < '2021-01-01'",
  ])("%s", async (sql) => {
    expect(await rule(sql)).toBe("ok");
  });
});

describe("rejected queries name the rule", () => {
  it.each([
    ["SELECT 1; DROP TABLE person", "single-select"],
    ["SELECT count(*) FROM person; SELECT count(*) FROM person", "single-select"],
    ["SELECT count(*) FROM person UNION SELECT count(*) FROM measurement", "single-select"],
    ["DELETE FROM person", "single-select"],
    ["SELEKT 1", "syntax"],
    ["WITH x AS (SELECT * FROM person) SELECT count(*) FROM x", "no-subqueries"],
    ["SELECT count(*) FROM (SELECT * FROM person) p", "no-subqueries"],
    [
      "SELECT count(*) FROM person WHERE year_of_birth = (SELECT max(year_of_birth) FROM person)",
      "no-subqueries",
    ],
    ["SELECT count(*) FROM read_parquet('/etc/passwd')", "allowed-tables"],
    ["SELECT count(*) FROM main.person", "allowed-tables"],
    ["SELECT count(*) FROM duckdb_settings()", "allowed-tables"],
    ["SELECT count(*) FROM secrets", "allowed-tables"],
    ["SELECT count(*) FROM person a JOIN person b USING (person_id)", "duplicate-table"],
    ["SELECT count(*) FROM person, measurement", "join-on-person-id"],
    [
      "SELECT count(*) FROM person p JOIN measurement m ON p.year_of_birth = m.value_as_number",
      "join-on-person-id",
    ],
    [
      "SELECT count(*) FROM person p LEFT JOIN measurement m ON p.person_id = m.person_id",
      "join-on-person-id",
    ],
    [
      "SELECT count(*) FROM person p JOIN measurement m ON p.person_id = m.person_id + 1",
      "join-on-person-id",
    ],
    ["SELECT * FROM person", "aggregate-outputs"],
    ["SELECT year_of_birth FROM person", "aggregate-outputs"],
    ["SELECT count(*) / 0 FROM person", "aggregate-outputs"],
    ["SELECT count(*) * 1.0 / count(*) FROM person", "aggregate-outputs"],
    ["SELECT max(year_of_birth) FROM person", "allowed-aggregates"],
    ["SELECT count(year_of_birth) FROM person", "allowed-aggregates"],
    ["SELECT count(*) FILTER (WHERE sex = 'F') FROM person", "allowed-aggregates"],
    ["SELECT sum(DISTINCT days_supply) FROM drug_exposure", "allowed-aggregates"],
    ["SELECT sum(1 / (value_as_number - 5)) FROM measurement", "allowed-aggregates"],
    ["SELECT avg(sex) FROM person", "numeric-bounds"],
    ["SELECT sum(person_id) FROM person", "person-id-usage"],
    ["SELECT person_id, count(*) FROM person GROUP BY person_id", "person-id-usage"],
    ["SELECT count(*) FROM person WHERE person_id <> 9001", "person-id-usage"],
    ["SELECT person_id % 100 AS b, count(*) FROM person GROUP BY b", "allowed-functions"],
    ["SELECT sex, count(*) FROM person GROUP BY ROLLUP (sex)", "group-by"],
    ["SELECT sex, count(*) FROM person GROUP BY ALL", "group-by"],
    ["SELECT count(*) FROM person GROUP BY sex", "group-by"],
    ["SELECT getenv('HOME') AS h, count(*) FROM person GROUP BY h", "allowed-functions"],
    ["SELECT year_of_birth + 1 AS y, count(*) FROM person GROUP BY y", "allowed-functions"],
    ["SELECT count(*) FROM person WHERE year_of_birth + 1 = 1923", "where-predicates"],
    ["SELECT count(*) FROM person WHERE sqrt(year_of_birth) > 1", "where-predicates"],
    ["SELECT count(*) FROM person WHERE region LIKE '%th'", "where-predicates"],
    ["SELECT count(*) FROM person WHERE year_of_birth = year_of_birth", "where-predicates"],
    ["SELECT count(*) FROM person WHERE sex = 'F' OR region = 'north'", "no-or"],
    [
      "SELECT count(*) FROM person WHERE (sex = 'F' AND year_of_birth = 1922) OR year_of_birth > 1900",
      "no-or",
    ],
    ["SELECT count(*) FROM person WHERE year_of_birth = 'abc'", "literal-types"],
    ["SELECT count(*) FROM person WHERE year_of_birth = 1922.5", "literal-types"],
    [
      "SELECT count(*) FROM condition_occurrence WHERE condition_start_date = '2020-02-30'",
      "literal-types",
    ],
    ["SELECT count(*) FROM person LIMIT 1", "no-modifiers"],
    ["SELECT DISTINCT count(*) FROM person", "no-modifiers"],
    ["SELECT sex, count(*) FROM person GROUP BY sex HAVING count(*) < 3", "no-having"],
    ["SELECT count(*) FROM person WHERE nonexistent = 1", "unknown-column"],
  ])("%s -> %s", async (sql, expected) => {
    expect(await rule(sql)).toBe(expected);
  });

  it("never echoes a literal in the rejection message", async () => {
    for (const sql of [
      "SELECT count(*) FROM person WHERE year_of_birth = 'secret-value-77'",
      "SELECT count(*) FROM person WHERE region LIKE '%secret-value-77'",
      "SELECT count(*) FROM person WHERE sex = 'secret-value-77' OR region = 'x'",
    ]) {
      try {
        await parser.plan(sql, catalogue);
        expect.unreachable();
      } catch (error) {
        expect(String((error as Error).message)).not.toContain("secret-value-77");
      }
    }
  });

  it("has a message for every rule", () => {
    for (const message of Object.values(ruleMessages)) expect(message.length).toBeGreaterThan(10);
  });
});

describe("canonical form", () => {
  it("ignores aliases, whitespace, case, select order and predicate order", async () => {
    const a = await hash(
      "SELECT sex, count(*) FROM person WHERE year_of_birth > 1950 AND region = 'north' GROUP BY sex",
    );
    const b = await hash(
      "select   COUNT(*) as n, p.SEX as s\nfrom PERSON p where p.region='north' and p.year_of_birth>=1951 group by 2",
    );
    expect(a).toBe(b);
  });

  it("writes one value one way: =, IN, BETWEEN, half-open range, duplicated predicate", async () => {
    const forms = [
      "SELECT count(*) FROM person WHERE year_of_birth = 1922",
      "SELECT count(*) FROM person WHERE year_of_birth IN (1922)",
      "SELECT count(*) FROM person WHERE year_of_birth BETWEEN 1922 AND 1922",
      "SELECT count(*) FROM person WHERE year_of_birth >= 1922 AND year_of_birth < 1923",
      "SELECT count(*) FROM person WHERE 1922 = year_of_birth AND year_of_birth = 1922",
      "SELECT count(*) FROM person WHERE year_of_birth = 1922 OR year_of_birth = 1922",
      "SELECT count(*) FROM person WHERE NOT (year_of_birth <> 1922)",
    ];
    const hashes = new Set(await Promise.all(forms.map(hash)));
    expect(hashes.size).toBe(1);
  });

  it("orders joins and membership subqueries canonically", async () => {
    const a = await hash(
      "SELECT count(*) FROM person p JOIN measurement m ON p.person_id = m.person_id WHERE person_id IN (SELECT person_id FROM drug_exposure WHERE drug_code = 'A10BA02') AND person_id IN (SELECT person_id FROM condition_occurrence WHERE condition_code = 'I10')",
    );
    const b = await hash(
      "SELECT count(*) FROM measurement JOIN person USING (person_id) WHERE person_id IN (SELECT person_id FROM condition_occurrence WHERE condition_code IN ('I10')) AND person_id IN (SELECT person_id FROM drug_exposure WHERE drug_code = 'A10BA02')",
    );
    expect(a).toBe(b);
  });

  it("distinguishes different questions", async () => {
    const a = await hash("SELECT count(*) FROM person WHERE year_of_birth = 1922");
    const b = await hash("SELECT count(*) FROM person WHERE year_of_birth <> 1922");
    const c = await hash("SELECT count(DISTINCT person_id) FROM person WHERE year_of_birth = 1922");
    expect(new Set([a, b, c]).size).toBe(3);
  });

  it("narrows avg clamps to the declared bounds", async () => {
    const plan = await parser.plan(
      "SELECT avg(least(greatest(value_as_number, -10), 1000)) FROM measurement",
      catalogue,
    );
    expect(plan.measures[0]).toMatchObject({ kind: "avg", lo: 0, hi: 50 });
  });
});

describe("output names", () => {
  const names = async (sql: string) =>
    (await parser.plan(sql, catalogue)).outputs.map((output) => output.name);

  it("keeps a bare column's name and gives unaliased functions readable defaults", async () => {
    expect(await names("SELECT region, count(*) FROM person GROUP BY region")).toEqual([
      "region",
      "count",
    ]);
    expect(
      await names(
        "SELECT p.sex, count(DISTINCT person_id), sum(value_as_number), avg(least(greatest(m.value_as_number, 4), 15)) FROM person p JOIN measurement m USING (person_id) GROUP BY p.sex",
      ),
    ).toEqual(["sex", "persons", "sum_value_as_number", "avg_value_as_number"]);
    expect(
      await names(
        "SELECT age_band(year_of_birth, 10), floor(year_of_birth / 5) * 5, count(*) FROM person GROUP BY 1, 2",
      ),
    ).toEqual(["age_band", "year_of_birth_bin", "count"]);
    expect(
      await names(
        "SELECT year(condition_start_date), date_trunc('month', condition_start_date), left(condition_code, 3), count(*) FROM condition_occurrence GROUP BY 1, 2, 3",
      ),
    ).toEqual([
      "year_condition_start_date",
      "condition_start_date_month",
      "condition_code_prefix",
      "count",
    ]);
  });

  it("keeps aliases as written and makes every name unique (_2 on a clash)", async () => {
    expect(await names("SELECT sex AS s, count(*) AS n FROM person GROUP BY 1")).toEqual([
      "s",
      "n",
    ]);
    expect(await names("SELECT count(*), count(*), count(*) AS count FROM person")).toEqual([
      "count_2",
      "count_3",
      "count",
    ]);
    expect(await names("SELECT sex, count(*) AS SEX FROM person GROUP BY sex")).toEqual([
      "sex_2",
      "SEX",
    ]);
  });

  it("leaves names out of the canonical form: renaming an output keeps the hash", async () => {
    expect(await hash("SELECT region, count(*) FROM person GROUP BY region")).toBe(
      await hash("SELECT region AS r, count(*) AS n FROM person GROUP BY r"),
    );
  });
});

describe("where a refusal applies", () => {
  const at = async (sql: string) => {
    try {
      await parser.plan(sql, catalogue);
    } catch (error) {
      if (!(error instanceof QueryRejection)) throw error;
      return { rule: error.rule, position: rejectionPosition(error, sql), message: error.message };
    }
    throw new Error("accepted");
  };

  it("points at DuckDB's syntax error position, never repeating its message", async () => {
    const refused = await at("SELECT sex, count(*)\nFRM person");
    expect(refused.rule).toBe("syntax");
    expect(refused.position).toEqual({ line: 2, column: 5, offset: 25 });
    expect(refused.message).toBe(ruleMessages.syntax);
  });

  it("points at the SELECT item, GROUP BY expression or WHERE predicate that broke the rule", async () => {
    expect(await at("SELECT sex, year_of_birth, count(*) FROM person GROUP BY sex")).toMatchObject({
      rule: "aggregate-outputs",
      position: { line: 1, column: 13 },
    });
    // Characters, not bytes: the literal before it is not ASCII.
    const sql = "SELECT count(*) FROM person\nWHERE region = 'Zürich-ä' AND length(sex) = 1";
    expect(await at(sql)).toMatchObject({
      rule: "where-predicates",
      position: { line: 2, column: 31 },
    });
    expect(sql.slice((await at(sql)).position?.offset)).toMatch(/^length\(sex\)/);
  });

  it("says nothing about where when the rule is about the whole query", async () => {
    expect((await at("SELECT sex FROM person GROUP BY sex")).position).toBeUndefined();
  });
});
