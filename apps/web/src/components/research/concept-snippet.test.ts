import { describe, expect, it } from "vitest";
import { conceptCode, conceptSnippet } from "./concept-snippet";

const concept = (domain: string) => ({
  conceptId: 192671,
  name: "Gastrointestinal hemorrhage",
  vocabulary: "SNOMED",
  code: "74474003",
  domain,
});

describe("concept snippets of the schema panel", () => {
  it("asks for a clinical concept and its descendants on its domain's concept column", () => {
    expect(conceptSnippet(concept("Condition"))).toBe(
      "descendant_of(condition_concept_id, 192671)",
    );
    expect(conceptSnippet(concept("Drug"))).toBe("descendant_of(drug_concept_id, 192671)");
    expect(conceptSnippet(concept("Measurement"))).toBe(
      "descendant_of(measurement_concept_id, 192671)",
    );
  });

  it("compares a visit concept and gives the id alone for other domains", () => {
    expect(conceptSnippet(concept("Visit"))).toBe("visit_concept_id = 192671");
    expect(conceptSnippet(concept("Unit"))).toBe("192671");
  });

  it("spells codes VOCABULARY:CODE", () => {
    expect(conceptCode(concept("Condition"))).toBe("SNOMED:74474003");
  });
});
