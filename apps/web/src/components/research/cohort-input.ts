import {
  type CohortDomain,
  type ConceptCriterion,
  conceptCriterionSchema,
} from "@opencohort/validators";

/**
 * What a researcher types in one field of the cohort builder, as one criterion: OMOP concept
 * ids (plain numbers; each with the concepts below it, e.g. 192671 for gastrointestinal
 * hemorrhage and its kinds, or the ingredients of a drug class) or codes (E11.9, a prefix
 * E11*, or with their vocabulary ICD10:E11*, ATC:M01A*, SNOMED:74474003). Concepts and codes
 * are different columns, so one field holds one kind; two fields combine them. Empty: null.
 * Throws a sentence naming the problem.
 */
export function parseCriterion(domain: CohortDomain, text: string): ConceptCriterion | null {
  const tokens = text
    .split(/[\s,;]+/)
    .map((token) => token.trim())
    .filter(Boolean);
  if (tokens.length === 0) return null;
  const ids = tokens.filter((token) => /^\d+$/.test(token));
  const codes = tokens.filter((token) => !/^\d+$/.test(token));
  if (ids.length > 0 && codes.length > 0) {
    throw new Error(
      `${label(domain)}: concept ids (${ids[0]}) and codes (${codes[0]}) go in separate criteria; a numeric code needs its vocabulary (SNOMED:${ids[0]}).`,
    );
  }
  const parsed = conceptCriterionSchema.safeParse(
    ids.length > 0
      ? { domain, concepts: [...new Set(ids)].map((id) => ({ id: Number(id) })) }
      : { domain, codes: [...new Set(codes)] },
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.find((part) => typeof part === "number");
    const token = where === undefined ? "" : ` "${(ids.length > 0 ? ids : codes)[where]}"`;
    throw new Error(`${label(domain)}${token}: ${issue?.message ?? "is not valid"}`);
  }
  return parsed.data;
}

const label = (domain: CohortDomain) =>
  domain === "condition" ? "Conditions" : domain === "drug" ? "Drugs" : "Measurements";

/**
 * A catalogue condition code as the builder suggests it: with its subcodes where the
 * vocabulary's codes nest by prefix (ICD-10: E11 > E11.9; ATC), the concept itself otherwise
 * (SNOMED codes do not nest by prefix).
 */
const PREFIX_VOCABULARIES = ["ICD10", "ICD10CM", "ICD9CM", "ATC"];
export const suggestedCode = (code: string) =>
  PREFIX_VOCABULARIES.includes(code.slice(0, code.indexOf(":"))) ? `${code}*` : code;
