import { describe, expect, it } from "vitest";
import { parseCriterion, suggestedCode } from "./cohort-input";

describe("parseCriterion (one field of the cohort builder)", () => {
  it("reads numbers as OMOP concept ids with their descendants", () => {
    expect(parseCriterion("condition", "192671")).toEqual({
      domain: "condition",
      codes: [],
      concepts: [{ id: 192671, descendants: true }],
    });
    // An NSAID concept set: the ingredients, each with the products below it.
    expect(parseCriterion("drug", "1118084, 1124300 1177480;1115008 1118084")).toEqual({
      domain: "drug",
      codes: [],
      concepts: [1118084, 1124300, 1177480, 1115008].map((id) => ({ id, descendants: true })),
    });
  });

  it("reads codes, prefixes and vocabularies", () => {
    expect(parseCriterion("condition", "ICD10:E11* ICD10:I10")).toMatchObject({
      domain: "condition",
      codes: ["ICD10:E11*", "ICD10:I10"],
      concepts: [],
    });
    expect(parseCriterion("drug", "ATC:M01A*")).toMatchObject({ codes: ["ATC:M01A*"] });
  });

  it("is null for an empty field", () => {
    expect(parseCriterion("drug", "  , ")).toBeNull();
  });

  it("refuses concept ids and codes in one field, mixed vocabularies and malformed codes, naming them", () => {
    expect(() => parseCriterion("condition", "192671 E11*")).toThrow(
      /^Conditions: concept ids \(192671\) and codes \(E11\*\) go in separate criteria/,
    );
    expect(() => parseCriterion("drug", "ATC:M01A* RxNorm:1118084")).toThrow(
      /^Drugs: the codes of one criterion share one vocabulary$/,
    );
    expect(() => parseCriterion("condition", "E11 E1'1")).toThrow(/^Conditions "E1'1": /);
    expect(() => parseCriterion("condition", "99999999999")).toThrow(/^Conditions "99999999999"/);
  });

  it("suggests ICD-10 categories of the catalogue as prefixes, other codes as they are", () => {
    expect(suggestedCode("ICD10:E11")).toBe("ICD10:E11*");
    expect(suggestedCode("SNOMED:74474003")).toBe("SNOMED:74474003");
  });
});
