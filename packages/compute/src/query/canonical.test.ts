import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtureCatalogue, TestParser } from "../../test/parse";
import {
  canonicalDimensionKey,
  canonicalDimensionValue,
  canonicalHash,
  canonicalText,
  dimensionDomainSize,
} from "./canonical";
import { compileGuarded } from "./compile";
import type { QueryPlan } from "./plan";

const catalogue = fixtureCatalogue();
let parser: TestParser;
beforeAll(async () => {
  parser = await TestParser.create();
});
afterAll(() => parser.close());

const plan = (sql: string) => parser.plan(sql, catalogue);
const hash = async (sql: string) => canonicalHash(await plan(sql));
const distinctHashes = async (forms: string[]) => new Set(await Promise.all(forms.map(hash))).size;
const perPersonSql = (p: QueryPlan) => {
  const step = compileGuarded(p, catalogue, {
    consent: { consentTable: "consent_t", materialised: {} },
    runTable: "run_1",
    consentedCount: 1000,
    contributionCap: 10,
  }).perPerson;
  if (!step) throw new Error("no per-person step");
  return step;
};

describe("numeric and date predicates within the declared domain", () => {
  it("drops bounds beyond the domain: year_of_birth is declared in [1900, 2026] and not null", async () => {
    expect(
      await distinctHashes([
        "SELECT count(*) FROM person WHERE year_of_birth <= 1950",
        "SELECT count(*) FROM person WHERE year_of_birth BETWEEN 1000 AND 1950",
        "SELECT count(*) FROM person WHERE year_of_birth >= 1900 AND year_of_birth < 1951",
        "SELECT count(*) FROM person WHERE year_of_birth > -5 AND year_of_birth <= 1950",
      ]),
    ).toBe(1);
  });

  it("compiles a side that reaches the domain's edge without that comparison (winsorised)", async () => {
    const compiled = perPersonSql(
      await plan("SELECT count(*) FROM person WHERE year_of_birth BETWEEN 1800 AND 1950"),
    );
    expect(compiled.sql).toContain("t0.year_of_birth <= $1::INTEGER");
    expect(compiled.sql).not.toContain(">=");
    expect(compiled.params).toEqual([1950]);
  });

  it("the whole domain of a non-nullable column is TRUE and leaves the plan", async () => {
    expect(
      await distinctHashes([
        "SELECT count(*) FROM person",
        "SELECT count(*) FROM person WHERE year_of_birth BETWEEN 1800 AND 2100",
        "SELECT count(*) FROM person WHERE year_of_birth >= 1900",
        "SELECT count(*) FROM person WHERE year_of_birth <> 2500",
        "SELECT count(*) FROM person WHERE year_of_birth NOT IN (1, 2, 3000)",
      ]),
    ).toBe(1);
    expect(
      await distinctHashes([
        "SELECT count(*) FROM condition_occurrence",
        "SELECT count(*) FROM condition_occurrence WHERE condition_start_date >= '2000-01-01'",
        "SELECT count(*) FROM condition_occurrence WHERE condition_start_date BETWEEN '2015-01-01' AND '2030-12-31'",
      ]),
    ).toBe(1);
  });

  it("the whole domain of a nullable column is 'not null', which is not the same as no filter", async () => {
    const withFilter = await plan(
      "SELECT count(*) FROM measurement WHERE value_as_number BETWEEN -100 AND 100",
    );
    expect(withFilter.filters).toHaveLength(1);
    expect(perPersonSql(withFilter).sql).toContain("t0.value_as_number IS NOT NULL");
    expect(
      await distinctHashes([
        "SELECT count(*) FROM measurement WHERE value_as_number BETWEEN -100 AND 100",
        "SELECT count(*) FROM measurement WHERE value_as_number >= 0",
        "SELECT count(*) FROM measurement WHERE value_as_number <= 50",
      ]),
    ).toBe(1);
    expect(
      await distinctHashes([
        "SELECT count(*) FROM measurement WHERE value_as_number >= 0",
        "SELECT count(*) FROM measurement",
      ]),
    ).toBe(2);
    // (0, 50] is not the whole continuous domain: x > 0 stays.
    expect(
      await distinctHashes([
        "SELECT count(*) FROM measurement WHERE value_as_number > 0",
        "SELECT count(*) FROM measurement WHERE value_as_number >= 0",
      ]),
    ).toBe(2);
  });
});

describe("text predicates on a declared value set", () => {
  it("becomes the exact subset: IN all values, <> an impossible value and no filter are one", async () => {
    expect(
      await distinctHashes([
        "SELECT count(*) FROM person",
        "SELECT count(*) FROM person WHERE sex IN ('F', 'M')",
        "SELECT count(*) FROM person WHERE sex <> 'X'",
        "SELECT count(*) FROM person WHERE sex NOT IN ('X', 'Y') AND region <> 'atlantis'",
      ]),
    ).toBe(1);
  });

  it("LIKE 'prefix%' is the values it covers", async () => {
    expect(
      await distinctHashes([
        "SELECT count(*) FROM condition_occurrence WHERE condition_code LIKE 'E1%'",
        "SELECT count(*) FROM condition_occurrence WHERE condition_code IN ('E10.9', 'E11.65', 'E11.9')",
        "SELECT count(*) FROM condition_occurrence WHERE condition_code LIKE 'E%' AND condition_code <> 'E99'",
        "SELECT count(*) FROM condition_occurrence WHERE condition_code NOT IN ('I10', 'J45.909', 'Q87.4')",
      ]),
    ).toBe(1);
  });

  it("writes the shorter of 'one of' and 'none of' and compiles both with bound values", async () => {
    const p = await plan("SELECT count(*) FROM condition_occurrence WHERE condition_code <> 'I10'");
    const compiled = perPersonSql(p);
    expect(compiled.sql).toContain("NOT (t0.condition_code IN ($1::VARCHAR))");
    expect(compiled.params).toEqual(["I10"]);
  });
});

describe("a WHERE that cannot match", () => {
  it("is one canonical 'nothing matches', whatever the predicates were", async () => {
    const forms = [
      "SELECT count(*) FROM person WHERE sex = 'X'",
      "SELECT count(*) FROM person WHERE year_of_birth > 2026",
      "SELECT count(*) FROM person WHERE year_of_birth = 1950 AND year_of_birth = 1951",
      "SELECT count(*) FROM person WHERE region = 'atlantis' AND sex = 'F'",
      "SELECT count(*) FROM person WHERE person_id IN (SELECT person_id FROM condition_occurrence WHERE condition_code = 'ZZZ')",
    ];
    expect(await distinctHashes(forms)).toBe(1);
    const p = await plan(forms[0] as string);
    expect(p.matchesNothing).toBe(true);
    expect(canonicalText(p)).toContain('"where":"false"');
    expect(perPersonSql(p).sql).toMatch(/\nWHERE FALSE\n/);
    expect(perPersonSql(p).params).toEqual([]);
  });
});

describe("membership subqueries", () => {
  it("NOT IN a set that cannot occur excludes nobody and is pruned", async () => {
    expect(
      await distinctHashes([
        "SELECT count(*) FROM person WHERE sex = 'F'",
        "SELECT count(*) FROM person WHERE sex = 'F' AND person_id NOT IN (SELECT person_id FROM condition_occurrence WHERE condition_code = 'ZZZ')",
        "SELECT count(*) FROM person WHERE sex = 'F' AND person_id NOT IN (SELECT person_id FROM drug_exposure WHERE drug_code LIKE 'X%' AND days_supply > 10)",
        "SELECT count(*) FROM person WHERE sex = 'F' AND person_id NOT IN (SELECT person_id FROM condition_occurrence WHERE condition_code = 'E11.9' AND condition_start_date < '1990-01-01')",
      ]),
    ).toBe(1);
  });

  it("keeps a real exclusion and canonicalises its inner filters", async () => {
    expect(
      await distinctHashes([
        "SELECT count(*) FROM person WHERE person_id NOT IN (SELECT person_id FROM condition_occurrence WHERE condition_code LIKE 'I1%')",
        "SELECT count(*) FROM person WHERE person_id NOT IN (SELECT person_id FROM condition_occurrence WHERE condition_code = 'I10' AND condition_start_date >= '1990-01-01')",
      ]),
    ).toBe(1);
    expect(
      await distinctHashes([
        "SELECT count(*) FROM person WHERE person_id NOT IN (SELECT person_id FROM condition_occurrence WHERE condition_code = 'I10')",
        "SELECT count(*) FROM person",
      ]),
    ).toBe(2);
  });
});

describe("dimensions", () => {
  it("bin widths that cut the domain at the same edges are one dimension", async () => {
    // year_of_birth in [1900, 2026]: widths 500 and 2000 both split at 2000 only.
    const forms = [
      "SELECT floor(year_of_birth / 500) * 500 AS b, count(*) FROM person GROUP BY b",
      "SELECT floor(year_of_birth / 2000) * 2000 AS b, count(*) FROM person GROUP BY b",
      "SELECT floor(year_of_birth / 1000) * 1000 AS b, count(*) FROM person GROUP BY b",
    ];
    expect(await distinctHashes(forms)).toBe(1);
    expect(
      await distinctHashes([
        "SELECT floor(year_of_birth / 10) * 10 AS b, count(*) FROM person GROUP BY b",
        "SELECT floor(year_of_birth / 20) * 20 AS b, count(*) FROM person GROUP BY b",
      ]),
    ).toBe(2);
  });

  it("narrows the domain by the query's own filter on the column", async () => {
    expect(
      await distinctHashes([
        "SELECT floor(year_of_birth / 10) * 10 AS b, count(*) FROM person WHERE year_of_birth BETWEEN 1950 AND 1959 GROUP BY b",
        "SELECT floor(year_of_birth / 5) * 5 AS b, count(*) FROM person WHERE year_of_birth BETWEEN 1950 AND 1954 GROUP BY b",
      ]),
    ).toBe(2);
    expect(
      await distinctHashes([
        "SELECT floor(year_of_birth / 10) * 10 AS b, count(*) FROM person WHERE year_of_birth BETWEEN 1950 AND 1959 GROUP BY b",
        "SELECT floor(year_of_birth / 100) * 100 AS b, count(*) FROM person WHERE year_of_birth BETWEEN 1950 AND 1959 GROUP BY b",
      ]),
    ).toBe(1);
  });

  it("floor(x / w) * w with w <= 1 and an age band of width 1 are the integer column itself", async () => {
    expect(
      await distinctHashes([
        "SELECT year_of_birth, count(*) FROM person GROUP BY year_of_birth",
        "SELECT floor(year_of_birth / 1) * 1 AS y, count(*) FROM person GROUP BY y",
        "SELECT floor(year_of_birth / 0.5) * 0.5 AS y, count(*) FROM person GROUP BY y",
        "SELECT age_band(year_of_birth, 1) AS a, count(*) FROM person GROUP BY a",
        "SELECT floor(days_supply / 1) * 1 AS d, count(*) FROM drug_exposure GROUP BY d",
      ]),
    ).toBe(2); // the last one is another column
  });

  it("year(d) and date_trunc('year', d) are one partition; month(d) is not", async () => {
    expect(
      await distinctHashes([
        "SELECT year(condition_start_date) AS y, count(*) FROM condition_occurrence GROUP BY y",
        "SELECT date_trunc('year', condition_start_date) AS y, count(*) FROM condition_occurrence GROUP BY y",
        "SELECT date_part('year', condition_start_date) AS y, count(*) FROM condition_occurrence GROUP BY y",
      ]),
    ).toBe(1);
    expect(
      await distinctHashes([
        "SELECT month(condition_start_date) AS y, count(*) FROM condition_occurrence GROUP BY y",
        "SELECT date_trunc('month', condition_start_date) AS y, count(*) FROM condition_occurrence GROUP BY y",
      ]),
    ).toBe(2);
  });

  it("left(code, n) with n >= the longest declared value is the column", async () => {
    expect(
      await distinctHashes([
        "SELECT condition_code, count(*) FROM condition_occurrence GROUP BY condition_code",
        "SELECT left(condition_code, 7) AS c, count(*) FROM condition_occurrence GROUP BY c",
        "SELECT left(condition_code, 20) AS c, count(*) FROM condition_occurrence GROUP BY c",
      ]),
    ).toBe(1);
    expect(
      await distinctHashes([
        "SELECT condition_code, count(*) FROM condition_occurrence GROUP BY condition_code",
        "SELECT left(condition_code, 3) AS c, count(*) FROM condition_occurrence GROUP BY c",
      ]),
    ).toBe(2);
  });

  it("groups a bounded column by its value clamped into the domain", async () => {
    const p = await plan(
      "SELECT floor(value_as_number / 10) * 10 AS v, count(*) FROM measurement GROUP BY v",
    );
    const compiled = perPersonSql(p);
    expect(compiled.sql).toContain(
      "floor(least(greatest(t0.value_as_number, $1::DOUBLE), $2::DOUBLE) / $3::DOUBLE) * $3::DOUBLE",
    );
    expect(compiled.params).toEqual([0, 50, 10]);
  });

  it("keeps the researcher's labels: the plan compiles the width that was asked for", async () => {
    const p = await plan(
      "SELECT floor(year_of_birth / 500) * 500 AS b, count(*) FROM person GROUP BY b",
    );
    expect(p.dimensions[0]).toMatchObject({ kind: "bin", width: 500 });
    expect(p.outputs[0]?.name).toBe("b");
  });
});

describe("canonicalDimensionValue", () => {
  it("maps bin labels to the group's lowest value clipped into the domain", async () => {
    const [w500] = (
      await plan("SELECT floor(year_of_birth / 500) * 500 AS b, count(*) FROM person GROUP BY b")
    ).dimensions;
    const [w2000] = (
      await plan("SELECT floor(year_of_birth / 2000) * 2000 AS b, count(*) FROM person GROUP BY b")
    ).dimensions;
    if (!w500 || !w2000) throw new Error("no dimension");
    expect(canonicalDimensionKey(w500)).toBe(canonicalDimensionKey(w2000));
    expect(canonicalDimensionValue(w500, 1500)).toBe(1900);
    expect(canonicalDimensionValue(w2000, 0)).toBe(1900);
    expect(canonicalDimensionValue(w500, 2000)).toBe(2000);
    expect(canonicalDimensionValue(w2000, 2000)).toBe(2000);
    expect(canonicalDimensionValue(w500, null)).toBeNull();
  });

  it("maps an age band of width 1 and floor(x / 0.1) * 0.1 to the birth year", async () => {
    const [age] = (
      await plan("SELECT age_band(year_of_birth, 1) AS a, count(*) FROM person GROUP BY a")
    ).dimensions;
    const [tenth] = (
      await plan("SELECT floor(year_of_birth / 0.1) * 0.1 AS a, count(*) FROM person GROUP BY a")
    ).dimensions;
    const [column] = (
      await plan("SELECT year_of_birth, count(*) FROM person GROUP BY year_of_birth")
    ).dimensions;
    if (!age || !tenth || !column) throw new Error("no dimension");
    // Reference year 2026: age 76 is born 1950.
    expect(canonicalDimensionValue(age, 76)).toBe(1950);
    expect(canonicalDimensionValue(tenth, Math.floor(1950 / 0.1) * 0.1)).toBe(1950);
    expect(canonicalDimensionValue(column, 1950)).toBe(1950);
  });

  it("maps date_trunc('year') and year() to the year", async () => {
    const [trunc] = (
      await plan(
        "SELECT date_trunc('year', condition_start_date) AS y, count(*) FROM condition_occurrence GROUP BY y",
      )
    ).dimensions;
    const [year] = (
      await plan(
        "SELECT year(condition_start_date) AS y, count(*) FROM condition_occurrence GROUP BY y",
      )
    ).dimensions;
    if (!trunc || !year) throw new Error("no dimension");
    expect(canonicalDimensionValue(trunc, "2020-01-01")).toBe(2020);
    expect(canonicalDimensionValue(year, 2020n)).toBe(2020);
    expect(canonicalDimensionValue(year, 2020)).toBe(2020);
  });

  it("is the identity elsewhere", async () => {
    const [sex] = (await plan("SELECT sex, count(*) FROM person GROUP BY sex")).dimensions;
    if (!sex) throw new Error("no dimension");
    expect(canonicalDimensionValue(sex, "F")).toBe("F");
  });
});

describe("dimensionDomainSize", () => {
  const size = async (sql: string, index = 0) => {
    const p = await plan(sql);
    const d = p.dimensions[index];
    if (!d) throw new Error("no dimension");
    return dimensionDomainSize(d, p, catalogue);
  };

  it("counts the declared values, less what the filter excludes, plus NULL when nullable", async () => {
    expect(await size("SELECT sex, count(*) FROM person GROUP BY sex")).toBe(2);
    expect(await size("SELECT sex, count(*) FROM person WHERE sex = 'F' GROUP BY sex")).toBe(1);
    expect(
      await size(
        "SELECT condition_code, count(*) FROM condition_occurrence GROUP BY condition_code",
      ),
    ).toBe(6);
    expect(
      await size(
        "SELECT left(condition_code, 1) AS c, count(*) FROM condition_occurrence GROUP BY c",
      ),
    ).toBe(4);
    expect(await size("SELECT year_of_birth, count(*) FROM person GROUP BY year_of_birth")).toBe(
      127,
    );
    expect(
      await size(
        "SELECT year_of_birth, count(*) FROM person WHERE year_of_birth BETWEEN 1950 AND 1959 GROUP BY year_of_birth",
      ),
    ).toBe(10);
    // days_supply is nullable: 365 values and NULL.
    expect(await size("SELECT days_supply, count(*) FROM drug_exposure GROUP BY days_supply")).toBe(
      366,
    );
  });

  it("counts bins, age bands and date parts within the domain", async () => {
    expect(
      await size("SELECT floor(year_of_birth / 500) * 500 AS b, count(*) FROM person GROUP BY b"),
    ).toBe(2);
    // Edges 1910..2020: 12 edges, 13 bins.
    expect(
      await size("SELECT floor(year_of_birth / 10) * 10 AS b, count(*) FROM person GROUP BY b"),
    ).toBe(13);
    expect(
      await size("SELECT age_band(year_of_birth, 1) AS a, count(*) FROM person GROUP BY a"),
    ).toBe(127);
    // condition_start_date declared in [2015-01-01, 2026-11-20].
    expect(
      await size(
        "SELECT year(condition_start_date) AS y, count(*) FROM condition_occurrence GROUP BY y",
      ),
    ).toBe(12);
    expect(
      await size(
        "SELECT month(condition_start_date) AS y, count(*) FROM condition_occurrence GROUP BY y",
      ),
    ).toBe(12);
    expect(
      await size(
        "SELECT date_trunc('month', condition_start_date) AS y, count(*) FROM condition_occurrence WHERE condition_start_date BETWEEN '2020-01-01' AND '2020-12-31' GROUP BY y",
      ),
    ).toBe(12);
  });

  it("is undefined without a declared domain", async () => {
    expect(
      await size("SELECT value_as_number, count(*) FROM measurement GROUP BY value_as_number"),
    ).toBeUndefined();
  });
});
