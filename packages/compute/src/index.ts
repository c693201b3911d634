/**
 * @opencohort/compute — the aggregate-only query engine.
 *
 * It knows nothing of HTTP or the chain: the caller hands it a dataset folder, the consented
 * person set, the governed disclosure parameters and a budget ledger; it hands back a
 * researcher-safe result, a receipt, and (separately) the private list of included persons.
 */

export { computeContentHash } from "@opencohort/validators/content-hash";

/**
 * The noise key every process uses on the local chain only (web, compute workers), so a
 * local repeat gets the same noise wherever it runs. Anywhere else the key is configured.
 */
export const LOCAL_DEV_NOISE_SECRET = "opencohort-local-dev-noise-secret";
export { InMemoryBudgetLedger, type PrivacyBudgetLedger, type QueryCharge } from "./budget";
export {
  type CatalogueColumn,
  type CatalogueTable,
  type DatasetCatalogue,
  DatasetOpenError,
  openDataset,
  publicCatalogue,
} from "./catalogue/dataset";
export {
  type ConceptSearch,
  conceptsByCode,
  MAX_CONCEPT_PAGE,
  searchConcepts,
  type VocabularyConcept,
} from "./catalogue/vocabulary";
export { cohortToSql, parseCohortDefinition } from "./cohort/compile";
export { BUDGET_DELTA, type QueryAccounting, queryAccounting } from "./disclosure/accounting";
export { type ContributionBounds, MAX_GROUPS_PER_PERSON } from "./disclosure/bounds";
export {
  type ComputeEngine,
  type ComputeEngineOptions,
  createComputeEngine,
  type EngineLogger,
  feasibilityParams,
  type PrivateInclusions,
  type QueryInput,
  type RunOutcome,
  type RunRequest,
  type ValidationOutcome,
} from "./engine";
export type { QueryPlan } from "./query/plan";
export { type RuleId, ruleMessages } from "./query/rules";
