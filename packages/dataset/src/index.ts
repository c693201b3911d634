export {
  type Bounds,
  type BoundsConfig,
  DEFAULT_BOUNDS,
  type ImportProgress,
  type ImportReport,
} from "./build";
export { ImportError } from "./errors";
export { FHIR_SYSTEMS, type FhirImportOptions, importFhir } from "./fhir-import";
export { importOmop, type OmopImportOptions } from "./omop-import";
export { MIN_SECRET_BYTES } from "./pseudonym";
export { type VerifyResult, verifyDataset } from "./verify";
