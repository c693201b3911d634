/**
 * The consented person set of a dataset: the `person_id`s of enrolled patients whose mirrored
 * ConsentState for that dataset is granted. This is what compute runs over; nobody else is
 * visible to a query. Person ids never leave the server: callers hand them to compute only.
 */
import type { Db, Prisma } from "@opencohort/db";

/**
 * Addresses per `IN (...)` list. Prisma refuses a query with more bound values than the
 * provider allows (P2029; SQLite's limit is 999), so lists stay well below that.
 */
const ADDRESS_CHUNK = 500;

/** The indexer stream whose cursor dates the mirrored consent state. */
export const CONSENT_STREAM = "core";

type Reader = Db | Prisma.TransactionClient;

/**
 * Person ids (ascending, so one set always has one byte layout and compute's consent cache
 * and noise key see the same set) of the patients enrolled in `datasetId` whose consent is
 * granted. Only `personId` is selected; addresses stay in the database layer.
 *
 * The join is Enrolment ⋈ ConsentState on (patientAddress, datasetId). The two tables have
 * no relation in the schema (consent is mirrored from the chain and may precede an
 * enrolment), so it is done as: granted addresses of the dataset, then the enrolments of
 * those addresses, a bounded chunk at a time. Plain Prisma, not raw SQL, so it runs on both
 * providers and under a PostgreSQL `?schema=`.
 */
export async function consentedPersonIds(db: Reader, datasetId: string): Promise<BigInt64Array> {
  const granted = await db.consentState.findMany({
    where: { datasetId, granted: true },
    select: { patientAddress: true },
  });
  const ids: bigint[] = [];
  for (let start = 0; start < granted.length; start += ADDRESS_CHUNK) {
    const addresses = granted.slice(start, start + ADDRESS_CHUNK).map((row) => row.patientAddress);
    const rows = await db.enrolment.findMany({
      where: { datasetId, patientAddress: { in: addresses } },
      select: { personId: true },
    });
    for (const row of rows) ids.push(row.personId);
  }
  return BigInt64Array.from(ids).sort();
}

export interface ConsentSnapshot {
  /** Consented person ids, ascending. Private: for compute only. */
  personIds: BigInt64Array;
  /** The last block the indexer applied when the set was read (the receipt's snapshot block). */
  block: bigint;
}

/**
 * The consented set together with the block it is current at, read in one transaction so
 * that the indexer cannot apply a block between the two reads (a revocation would otherwise
 * be attributed to a block before it). Throws when the indexer has not run yet.
 */
export async function consentSnapshot(
  db: Db,
  datasetId: string,
  chainId: number,
): Promise<ConsentSnapshot> {
  return db.$transaction(
    async (tx) => {
      const cursor = await tx.indexerCursor.findUnique({
        where: { chainId_stream: { chainId, stream: CONSENT_STREAM } },
        select: { block: true },
      });
      if (!cursor) throw new Error("The chain indexer has not run yet: no consent is known.");
      return { personIds: await consentedPersonIds(tx, datasetId), block: cursor.block };
    },
    { isolationLevel: "Serializable" },
  );
}
