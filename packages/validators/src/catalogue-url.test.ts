import { describe, expect, it } from "vitest";
import { catalogueListInput, catalogueSearchParams, parseCatalogueParams } from "./catalogue";

describe("the catalogue URL", () => {
  it("round-trips every filter, leaving defaults out", () => {
    const query =
      "q=heart+failure&condition=ICD10%3AE11&condition=ICD10%3AI10&minPersons=500&maxPersons=5000&minPrice=10&maxPrice=99.5&schema=omop-lite%2F1&sort=price-asc&page=3";
    const { view, problems } = parseCatalogueParams(
      Object.fromEntries(
        [...new URLSearchParams(query).keys()].map((key) => {
          const values = new URLSearchParams(query).getAll(key);
          return [key, values.length === 1 ? values[0] : values];
        }),
      ),
    );
    expect(problems).toEqual([]);
    expect(view).toEqual({
      search: "heart failure",
      conditions: ["ICD10:E11", "ICD10:I10"],
      minPersons: 500,
      maxPersons: 5_000,
      minPrice: "10",
      maxPrice: "99.5",
      schemaVersion: "omop-lite/1",
      sort: "price-asc",
      page: 3,
    });
    expect(catalogueSearchParams(view).toString()).toBe(query);
    expect(catalogueListInput(view, 12)).toMatchObject({ page: 3, limit: 12, minPersons: 500 });
    expect(catalogueSearchParams(parseCatalogueParams({}).view).toString()).toBe("");
  });

  it("names each bad parameter and keeps the good ones", () => {
    const { view, problems } = parseCatalogueParams({
      q: "asthma",
      condition: ["ICD10:J45", "not a code"],
      minPersons: "many",
      minPrice: "90",
      maxPrice: "20",
      sort: "cheapest",
      page: "0",
    });
    expect(view).toEqual({ search: "asthma", conditions: ["ICD10:J45"], sort: "newest", page: 1 });
    expect(problems).toEqual([
      'condition: "not a code" must be VOCABULARY:CODE, e.g. ICD10:E11',
      "minPersons: must be a whole number such as 1000",
      "maxPrice: is below minPrice",
      "sort: must be one of newest, oldest, price-asc, price-desc, persons-desc, title",
      "page: must be a page number such as 2",
    ]);
  });
});
