export { computeContentHash } from "@opencohort/validators/content-hash";
export * as catalog from "./catalog";
export {
  GENERATOR_NAME,
  GENERATOR_VERSION,
  type GenerateCohortOptions,
  type GenerationProgress,
  generateCohort,
  MAX_PERSONS,
} from "./generate-cohort";
export {
  type DatasetVerification,
  MANIFEST_FILE,
  readManifest,
  verifyDatasetFolder,
  writeManifest,
} from "./manifest";
export { OUTPUT_TABLES, SCHEMA_VERSION } from "./output-tables";
export { createProgressReporter, type ProgressReporter } from "./progress-reporter";
