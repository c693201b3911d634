// @opencohort/db: the application database (Prisma 7; SQLite by default, PostgreSQL by URL).
export { type SqlDialect, sqlDialectOf } from "./bulk";
export { createDb, type Db, openDb } from "./client";
export {
  createEnrolments,
  datasetPersonOrdinals,
  enrolmentOrdinals,
  type NewEnrolment,
  ordinalsOf,
  type PersonOrdinals,
  selectConsentedEnrolments,
  toPersonOrdinals,
} from "./enrolments";
export { type DbEnv, DEFAULT_DATABASE_URL, loadDbEnv, REPO_ROOT, resolveDatabaseUrl } from "./env";
export { findOpenEpoch, type OpenEpoch, openEpochNumber, openNextEpoch } from "./epochs";
export { DatabaseConfigError, isDatabaseConfigError } from "./errors";
// Model types, enums (runtime values too) and the Prisma namespace (Prisma.DatasetSelect,
// Prisma.TransactionClient, ...), from the SQLite client: identical for both providers.
export type {
  AccessPass,
  Account,
  AccountRole,
  ClaimRelayRequest,
  ConsentRelayRequest,
  ConsentState,
  Dataset,
  DatasetCondition,
  DatasetVersion,
  Enrolment,
  Epoch,
  IndexedEvent,
  IndexerCursor,
  PatientQueryUse,
  PayoutRegistration,
  PrivacyBudgetEntry,
  Proposal,
  Purchase,
  Query,
  QueryInclusionSet,
  ReceiptAnchor,
  RewardEpoch,
  RewardPayout,
  RewardShare,
  Session,
  StandardsSnapshot,
  Vote,
} from "./generated/sqlite/client";
export { Prisma } from "./generated/sqlite/client";
export * from "./generated/sqlite/enums";
export { EnrolmentOrdinalSet, InclusionBitmapError } from "./inclusion-bitmap";
export {
  backfillPatientQueryUses,
  PATIENT_QUERY_USES_PAGE,
  type QueryInclusionRecord,
  queriesThatUsedPatient,
  recordQueryInclusions,
} from "./inclusions";
export { type MigrateOptions, type MigrateResult, migrate } from "./migrate";
export { pgConfigFromUrl } from "./pg-config";
export { DB_UINT_DIGITS, fromDbUint, toDbUint } from "./uint";
export type { DatabaseTarget, Provider } from "./url";
