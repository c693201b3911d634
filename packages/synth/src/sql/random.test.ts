import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type GeneratorDatabase, openGeneratorDatabase, queryRows } from "./database";
import { installRandomFunctions, pseudonymSql } from "./random";

describe("seeded SQL randomness", () => {
  let database: GeneratorDatabase;
  beforeEach(async () => {
    database = await openGeneratorDatabase({ threads: 2, temporaryDirectory: "/tmp" });
    await installRandomFunctions(database.connection, 42);
  });
  afterEach(() => database.close());

  it("draws uniform values in [0, 1) that are uncorrelated across salts and keys", async () => {
    const [stats] = await queryRows(
      database.connection,
      `SELECT min(a) AS low, max(a) AS high, avg(a) AS mean,
              corr(a, b) AS across_salts, corr(a, c) AS across_keys
       FROM (SELECT unit_uniform(range, 3, 'visit-date') AS a,
                    unit_uniform(range, 3, 'visit-type') AS b,
                    unit_uniform(range, 4, 'visit-date') AS c
             FROM range(200000))`,
    );
    expect(Number(stats?.low)).toBeGreaterThanOrEqual(0);
    expect(Number(stats?.high)).toBeLessThan(1);
    expect(Number(stats?.mean)).toBeCloseTo(0.5, 2);
    expect(Math.abs(Number(stats?.across_salts))).toBeLessThan(0.01);
    expect(Math.abs(Number(stats?.across_keys))).toBeLessThan(0.01);
  });

  it("draws standard normal values", async () => {
    const [stats] = await queryRows(
      database.connection,
      "SELECT avg(z) AS mean, stddev_pop(z) AS sd FROM (SELECT std_normal(range, 0, 'z') AS z FROM range(200000))",
    );
    expect(Number(stats?.mean)).toBeCloseTo(0, 1);
    expect(Number(stats?.sd)).toBeCloseTo(1, 1);
  });

  it("maps person indexes to unique pseudonyms that depend on the seed", async () => {
    const pseudonym = pseudonymSql("person_index");
    const query = `WITH pseudonym_input AS (SELECT range AS person_index FROM range(100000)),
      ${pseudonym.ctes}
      SELECT count(DISTINCT person_id) AS ids, corr(person_index, person_id) AS order_leak,
             min(person_id) AS low, max(person_id) AS high, sum(person_id) AS total
      FROM ${pseudonym.result}`;
    const [withSeed42] = await queryRows(database.connection, query);
    expect(Number(withSeed42?.ids)).toBe(100000);
    expect(Math.abs(Number(withSeed42?.order_leak))).toBeLessThan(0.02);
    expect(Number(withSeed42?.low)).toBeGreaterThanOrEqual(1e12);
    expect(Number(withSeed42?.high)).toBeLessThan(1e12 + 2 ** 40);
    await installRandomFunctions(database.connection, 43);
    const [withSeed43] = await queryRows(database.connection, query);
    expect(withSeed43?.total).not.toBe(withSeed42?.total);
  });
});
