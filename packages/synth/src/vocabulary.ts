import { CONDITIONS, DRUGS, MEASUREMENTS, VISIT_TYPES } from "./catalog";

/**
 * The generator's own vocabulary, shipped with every dataset it writes (omop-lite/2).
 * Its codes are real ICD-10, ATC and LOINC codes, but there is no OMOP vocabulary on this
 * machine to look up their standard concept ids, so each code gets a local concept id in the
 * range OMOP reserves for site-specific concepts (above 2,000,000,000), assigned in a fixed
 * order so that every run gives the same ids. Visits use OMOP's standard visit concepts.
 * The hierarchy follows the codes: an ICD-10 category (E11) is the ancestor of its subcodes
 * (E11.9), an ATC group of every code below it (A10 > A10B > A10BA > A10BA02).
 */
export interface SynthConcept {
  conceptId: number;
  name: string;
  vocabulary: "ICD10" | "ATC" | "LOINC" | "Visit";
  code: string;
  domain: "Condition" | "Drug" | "Measurement" | "Visit";
}

export const LOCAL_CONCEPT_ID_BASE = 2_000_000_000;

/** OMOP standard visit concepts; telehealth has none among these, so it is local. */
const VISIT_CONCEPTS: Record<(typeof VISIT_TYPES)[number], { id: number | null; name: string }> = {
  inpatient: { id: 9201, name: "Inpatient Visit" },
  outpatient: { id: 9202, name: "Outpatient Visit" },
  emergency: { id: 9203, name: "Emergency Room Visit" },
  telehealth: { id: null, name: "Telehealth" },
};

/** ATC levels are the code's first 1, 3, 4, 5 and 7 characters. */
const ATC_LEVEL_LENGTHS = [1, 3, 4, 5, 7] as const;
const atcAncestors = (code: string) =>
  ATC_LEVEL_LENGTHS.filter((length) => length < code.length).map((length) => code.slice(0, length));
const icdCategory = (code: string) => code.split(".")[0] as string;

interface Built {
  concepts: SynthConcept[];
  /** [ancestor, descendant, levels], including each concept as its own ancestor at 0. */
  ancestors: [number, number, number][];
}

function build(): Built {
  const entries = new Map<string, Omit<SynthConcept, "conceptId"> & { fixedId?: number }>();
  const add = (concept: Omit<SynthConcept, "conceptId"> & { fixedId?: number }) => {
    const key = `${concept.vocabulary}\u0000${concept.code}`;
    if (!entries.has(key)) entries.set(key, concept);
  };
  for (const condition of CONDITIONS) {
    const category = icdCategory(condition.codes[0]?.code ?? "");
    add({ name: condition.name, vocabulary: "ICD10", code: category, domain: "Condition" });
    for (const { code } of condition.codes) {
      add({
        name: code === category ? condition.name : `${condition.name} (${code})`,
        vocabulary: "ICD10",
        code,
        domain: "Condition",
      });
    }
  }
  for (const drug of DRUGS) {
    add({ name: drug.name, vocabulary: "ATC", code: drug.atc, domain: "Drug" });
    for (const group of atcAncestors(drug.atc)) {
      add({ name: `ATC group ${group}`, vocabulary: "ATC", code: group, domain: "Drug" });
    }
  }
  for (const m of MEASUREMENTS) {
    add({ name: m.name, vocabulary: "LOINC", code: m.loinc, domain: "Measurement" });
  }
  for (const type of VISIT_TYPES) {
    const visit = VISIT_CONCEPTS[type];
    add({
      name: visit.name,
      vocabulary: "Visit",
      code: type,
      domain: "Visit",
      ...(visit.id !== null ? { fixedId: visit.id } : {}),
    });
  }
  const sortedKeys = [...entries.keys()].sort();
  let next = LOCAL_CONCEPT_ID_BASE + 1;
  const concepts = sortedKeys.map((key) => {
    const { fixedId, ...concept } = entries.get(key) as Omit<SynthConcept, "conceptId"> & {
      fixedId?: number;
    };
    return { conceptId: fixedId ?? next++, ...concept };
  });
  const idOf = new Map(concepts.map((c) => [`${c.vocabulary}\u0000${c.code}`, c.conceptId]));
  const ancestors: [number, number, number][] = [];
  for (const concept of concepts) {
    ancestors.push([concept.conceptId, concept.conceptId, 0]);
    const chain =
      concept.vocabulary === "ATC"
        ? atcAncestors(concept.code).reverse()
        : concept.vocabulary === "ICD10" && icdCategory(concept.code) !== concept.code
          ? [icdCategory(concept.code)]
          : [];
    chain.forEach((code, index) => {
      const ancestor = idOf.get(`${concept.vocabulary}\u0000${code}`);
      if (ancestor !== undefined) ancestors.push([ancestor, concept.conceptId, index + 1]);
    });
  }
  return { concepts, ancestors };
}

export const SYNTH_VOCABULARY: Built = build();
