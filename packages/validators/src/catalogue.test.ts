import { describe, expect, it } from "vitest";
import { conditionCodeSchema, parseConceptCode } from "./catalogue";
import { conceptCodeSchema } from "./cohort";
import { columnSchema } from "./dataset";
import { KNOWN_VOCABULARIES } from "./omop-lite";

describe("the one spelling of codes, VOCABULARY:CODE", () => {
  it("accepts an OMOP vocabulary_id and a concept_code as the concept table spells them", () => {
    for (const code of [
      "ICD10:E11",
      "ICD10CM:K92.2",
      "SNOMED:74474003",
      "RxNorm Extension:OMOP1",
    ]) {
      expect(conditionCodeSchema.parse(code)).toBe(code);
    }
    expect(parseConceptCode("ICD10CM:K92.2")).toEqual({ vocabulary: "ICD10CM", code: "K92.2" });
  });

  it("refuses a code without a vocabulary, and a vocabulary OMOP does not spell so", () => {
    expect(conditionCodeSchema.safeParse("E11").error?.issues[0]?.message).toBe(
      "must be VOCABULARY:CODE, e.g. ICD10:E11",
    );
    for (const code of ["icd10:E11", "ICD-10:E11", "Snomed:74474003"]) {
      const message = conditionCodeSchema.safeParse(code).error?.issues[0]?.message;
      expect(message, code).toContain(KNOWN_VOCABULARIES.join(", "));
    }
  });
});

describe("cohort codes", () => {
  it("take the same spelling, with an optional vocabulary and a trailing * for a prefix", () => {
    for (const code of ["E11*", "ICD10:E11*", "ICD10CM:K92.2", "RxNorm Extension:OMOP1"]) {
      expect(conceptCodeSchema.safeParse(code).success, code).toBe(true);
    }
    for (const code of ["icd10:E11*", "ICD-10:E11", "E11; DROP"]) {
      expect(conceptCodeSchema.safeParse(code).success, code).toBe(false);
    }
  });
});

describe("declared bounds per code", () => {
  const value = {
    name: "value_as_number",
    type: "DOUBLE" as const,
    bounds: { min: 0, max: 1000 },
    codeBounds: [
      { code: "LOINC:4548-4", min: 3, max: 20, unit: "%" },
      { code: "LOINC:8480-6", min: 50, max: 300 },
    ],
  };

  it("accepts sorted codes whose ranges lie within the column's bounds", () => {
    expect(columnSchema.parse(value).codeBounds).toHaveLength(2);
  });

  it("refuses a range outside the column's bounds, unsorted codes, and codes without bounds", () => {
    const messages = (column: unknown) =>
      columnSchema.safeParse(column).error?.issues.map((issue) => issue.message) ?? [];
    expect(
      messages({ ...value, codeBounds: [{ code: "LOINC:2345-7", min: 10, max: 1001 }] }),
    ).toEqual(["LOINC:2345-7: lies outside the column's bounds"]);
    expect(messages({ ...value, codeBounds: [...value.codeBounds].reverse() })).toEqual([
      "codes must be sorted and unique",
    ]);
    const { bounds: _bounds, ...unbounded } = value;
    expect(messages(unbounded)).toEqual(["codeBounds need the column's bounds"]);
  });
});
