/**
 * The consented person set of a dataset: the `person_id`s of enrolled patients whose mirrored
 * ConsentState for that dataset is granted. This is what compute runs over; nobody else is
 * visible to a query. Person ids never leave the server: callers hand them to compute only.
 */
import { type Db, selectConsentedEnrolments, sqlDialectOf } from "@opencohort/db";

/** The indexer stream whose cursor dates the mirrored consent state. */
export const CONSENT_STREAM = "core";

export interface ConsentSnapshot {
  /** Consented person ids, ascending. Private: for compute only. */
  personIds: BigInt64Array;
  /**
   * ordinals[i] is the enrolment ordinal of personIds[i]: what the query's inclusion set is
   * stored over (@opencohort/db enrolments.ts). Private, like the ids.
   */
  ordinals: Uint32Array;
  /** The last block the indexer applied when the set was read (the receipt's snapshot block). */
  block: bigint;
}

/**
 * The consented set together with the block it is current at, read in one transaction so
 * that the indexer cannot apply a block between the two reads (a revocation would otherwise
 * be attributed to a block before it). Throws when the indexer has not run yet.
 *
 * The set is the `person_id`s, ascending (so one set always has one byte layout and compute's
 * consent cache and noise key see the same set), of the patients enrolled in `datasetId`
 * whose consent is granted, with their ordinals, read as one join (`selectConsentedEnrolments`).
 */
export async function consentSnapshot(
  db: Db,
  datasetId: string,
  chainId: number,
): Promise<ConsentSnapshot> {
  const dialect = sqlDialectOf(db);
  return db.$transaction(
    async (tx) => {
      const cursor = await tx.indexerCursor.findUnique({
        where: { chainId_stream: { chainId, stream: CONSENT_STREAM } },
        select: { block: true },
      });
      if (!cursor) throw new Error("The chain indexer has not run yet: no consent is known.");
      const { personIds, ordinals } = await selectConsentedEnrolments(tx, dialect, datasetId);
      return { personIds, ordinals, block: cursor.block };
    },
    { isolationLevel: "Serializable" },
  );
}

/** Patients whose consent is granted now, per dataset (datasets with none are absent). */
export async function consentedCounts(db: Db, datasetIds: string[]) {
  if (datasetIds.length === 0) return new Map<string, number>();
  const rows = await db.consentState.groupBy({
    by: ["datasetId"],
    where: { datasetId: { in: datasetIds }, granted: true },
    _count: { _all: true },
  });
  return new Map(rows.map((row) => [row.datasetId, row._count._all]));
}

/**
 * Enrolled persons whose consent counts now, per dataset (the size of the set compute runs
 * over): for the dataset's own steward only. Unlike `consentedCounts` (granted consents on
 * chain, which anyone can read there), it leaves out consents of addresses nobody enrolled and
 * those a wallet signed itself before consent identities.
 */
export async function enrolledConsentCounts(db: Db, datasetIds: string[]) {
  const dialect = sqlDialectOf(db);
  const counts = new Map<string, number>();
  for (const datasetId of datasetIds) {
    counts.set(
      datasetId,
      (await selectConsentedEnrolments(db, dialect, datasetId)).personIds.length,
    );
  }
  return counts;
}
