/**
 * Which persons each query included, stored privately for the patients' "who used my data"
 * (DESIGN "A query, end to end", step 6): one QueryInclusionSet row per query holding a
 * compressed set of enrolment ordinals (EnrolmentOrdinalSet, src/inclusion-bitmap.ts;
 * ordinals in src/enrolments.ts), and a per-patient index, PatientQueryUse, kept for the
 * enrolments that have a wallet (only those patients can sign in to ask). Nothing here is
 * read to pay rewards or answer a researcher.
 *
 * Paths and their cost at 1M enrolled persons, 10k stored queries, W wallet patients:
 *
 * - A query succeeds (`recordQueryInclusions`, in its final transaction): builds the set from
 *   the included ordinals (the caller maps person ids to ordinals through its consent
 *   snapshot), writes one row, reads the W wallet enrolments of the dataset through the
 *   (datasetId, patientAddress) unique index and writes one index row per wallet patient the
 *   set holds. O(included + W); nothing is read from earlier queries. Ordinals are dense, so
 *   a set costs at most ~N/8 bytes for N enrolments (128 KiB at 1M) however many persons it
 *   includes, and a few bytes where the included ordinals run unbroken.
 * - A patient asks (`queriesThatUsedPatient`): their enrolments by wallet, their index rows by
 *   primary-key prefix, the queries by id, one page at a time. O(page); the sets are not read.
 * - An enrolment gains a wallet (`backfillPatientQueryUses`: identity binding, steward import
 *   by wallet): reads every set of the dataset once, in pages (10k sets of ≤128 KiB at 1M,
 *   ≤1.3 GB), and intersects each with the new enrolments' ordinals; one pass serves a whole
 *   imported list. The one expensive path, paid once per patient and dataset rather than on
 *   every read, but inside the binding's transaction: on SQLite that holds the write lock for
 *   the whole pass.
 * - Migration from per-person rows and from sets of person ids: src/inclusions-conversion.ts.
 *
 * Concurrency: a set written while an enrolment gains its wallet must reach that patient's
 * index by one path or the other. On PostgreSQL (READ COMMITTED) the two transactions take a
 * per-dataset advisory lock, shared for query writes (they do not wait for each other) and
 * exclusive for the back-fill, before reading what the other writes: whichever commits
 * second sees the first. On SQLite both write before they read, and SQLite has one writer at
 * a time, so the same holds.
 */
import { type SqlDialect, tableName } from "./bulk";
import type { Db } from "./client";
import { enrolmentOrdinals } from "./enrolments";
import type { Prisma } from "./generated/sqlite/client";
import { EnrolmentOrdinalSet } from "./inclusion-bitmap";

type Client = Db | Prisma.TransactionClient;

export interface QueryInclusionRecord {
  queryId: string;
  datasetId: string;
  epoch: number;
  /** Enrolment ordinals of the included persons (src/enrolments.ts `ordinalsOf`). */
  ordinals: readonly number[] | Uint32Array;
}

/** Sets read per statement by the back-fill: bounds its memory (~128 KiB a set at 1M). */
export const BACKFILL_PAGE = 200;
/** Index rows per insert statement (each list is one bound value). */
const USES_PER_STATEMENT = 50_000;

/**
 * Stores the persons a query included: its set and the index rows of the dataset's wallet
 * patients among them. Run it inside the transaction that marks the query SUCCEEDED, so a
 * failure here rolls the success back. A second call for the same query fails (primary key).
 */
export async function recordQueryInclusions(
  tx: Client,
  dialect: SqlDialect,
  record: QueryInclusionRecord,
): Promise<void> {
  const { queryId, datasetId, epoch } = record;
  await lockDatasetInclusions(tx, dialect, datasetId, "shared");
  const included = EnrolmentOrdinalSet.of(record.ordinals);
  // Written before the wallets are read: on SQLite this takes the write lock first.
  await tx.queryInclusionSet.create({
    data: { queryId, datasetId, epoch, bitmap: included.toBytes() },
    select: { queryId: true },
  });
  const wallets = await tx.enrolment.findMany({
    where: { datasetId, patientAddress: { not: null } },
    select: { personId: true, ordinal: true },
  });
  const used = wallets.filter((row) => included.has(row.ordinal)).map((row) => row.personId);
  await insertPatientQueryUses(
    tx,
    dialect,
    datasetId,
    used,
    used.map(() => queryId),
  );
}

/**
 * Adds the index rows of `personIds` (enrolments of `datasetId` that just gained a wallet)
 * for every stored set of the dataset that holds them. Run it in the transaction that set
 * the wallets, after setting them. Idempotent (rows already there are kept). Returns the
 * number of rows added (private, like the rows).
 */
export async function backfillPatientQueryUses(
  tx: Client,
  dialect: SqlDialect,
  datasetId: string,
  personIds: readonly bigint[],
): Promise<number> {
  if (personIds.length === 0) return 0;
  await lockDatasetInclusions(tx, dialect, datasetId, "exclusive");
  const enrolled = await enrolmentOrdinals(tx, datasetId, personIds);
  const personOf = new Map<number, bigint>();
  enrolled.ordinals.forEach((ordinal, index) => {
    personOf.set(ordinal, enrolled.personIds[index] as bigint);
  });
  const candidates = EnrolmentOrdinalSet.of(enrolled.ordinals);
  let added = 0;
  let after = "";
  for (;;) {
    // Raw rather than findMany: Prisma's mapping of Bytes fields took ~8x longer for 15 MB.
    const page = await tx.$queryRaw<{ queryId: string; bitmap: Uint8Array }[]>`
      SELECT "queryId", "bitmap" FROM ${tableName(dialect, "QueryInclusionSet")}
      WHERE "datasetId" = ${datasetId} AND "queryId" > ${after}
      ORDER BY "queryId" LIMIT ${BACKFILL_PAGE}`;
    const persons: bigint[] = [];
    const queries: string[] = [];
    for (const { queryId, bitmap } of page) {
      for (const ordinal of EnrolmentOrdinalSet.fromBytes(bitmap)
        .intersection(candidates)
        .toUint32Array()) {
        persons.push(personOf.get(ordinal) as bigint);
        queries.push(queryId);
      }
    }
    added += await insertPatientQueryUses(tx, dialect, datasetId, persons, queries);
    if (page.length < BACKFILL_PAGE) return added;
    after = (page.at(-1) as { queryId: string }).queryId;
  }
}

/** Queries per page of "who used my data" unless the caller asks for fewer. */
export const PATIENT_QUERY_USES_PAGE = 50;

/**
 * The succeeded queries whose inclusion set holds one of the persons enrolled with wallet
 * `patientAddress` (lower-case), newest first, one page at a time: dataset, researcher, kind
 * and dates, never the SQL, a result or which of the patient's enrolments matched. `after`
 * is the last query id of the previous page; `nextCursor` is null on the last page. A page
 * costs the same however many queries used the patient (a patient of a busy registry can
 * have thousands).
 */
export async function queriesThatUsedPatient(
  db: Db,
  patientAddress: string,
  page: { after?: string; limit?: number } = {},
) {
  const limit = page.limit ?? PATIENT_QUERY_USES_PAGE;
  const queries = await db.query.findMany({
    where: {
      status: "SUCCEEDED",
      patientUses: { some: { enrolment: { patientAddress } } },
    },
    orderBy: [{ finishedAt: "desc" }, { id: "desc" }],
    ...(page.after === undefined ? {} : { cursor: { id: page.after }, skip: 1 }),
    // One more than asked: whether a next page exists without counting.
    take: limit + 1,
    select: {
      id: true,
      datasetId: true,
      researcherAddress: true,
      kind: true,
      createdAt: true,
      finishedAt: true,
      dataset: { select: { title: true } },
    },
  });
  const more = queries.length > limit;
  const shown = more ? queries.slice(0, limit) : queries;
  return { queries: shown, nextCursor: more ? (shown.at(-1)?.id ?? null) : null };
}

/** One row per (persons[i], queries[i]); pairs already stored are skipped. */
export async function insertPatientQueryUses(
  tx: Client,
  dialect: SqlDialect,
  datasetId: string,
  persons: readonly bigint[],
  queries: readonly string[],
): Promise<number> {
  const table = tableName(dialect, "PatientQueryUse");
  let written = 0;
  for (let start = 0; start < persons.length; start += USES_PER_STATEMENT) {
    const personChunk = persons.slice(start, start + USES_PER_STATEMENT).map(String);
    const queryChunk = queries.slice(start, start + USES_PER_STATEMENT);
    written +=
      dialect.provider === "postgresql"
        ? await tx.$executeRaw`
            INSERT INTO ${table} ("datasetId", "personId", "queryId")
            SELECT ${datasetId}::text, uses.person_id, uses.query_id
            FROM unnest(${personChunk}::bigint[], ${queryChunk}::text[]) AS uses(person_id, query_id)
            ON CONFLICT DO NOTHING`
        : // One array of [personId, queryId] pairs: joining two json_each on their keys is
          // quadratic in SQLite (no index on a table-valued function's key).
          await tx.$executeRaw`
            INSERT INTO ${table} ("datasetId", "personId", "queryId")
            SELECT ${datasetId}, json_extract(uses.value, '$[0]'), json_extract(uses.value, '$[1]')
            FROM json_each(${`[${personChunk.map((personId, i) => `[${personId},${JSON.stringify(queryChunk[i])}]`).join(",")}]`}) AS uses
            WHERE true
            ON CONFLICT DO NOTHING`;
  }
  return written;
}

/**
 * PostgreSQL: a transaction-scoped advisory lock per dataset (see the module comment). The
 * key is a hash of the dataset id; a collision only makes two datasets wait for each other.
 * SQLite: nothing to do (one writer at a time).
 */
async function lockDatasetInclusions(
  tx: Client,
  dialect: SqlDialect,
  datasetId: string,
  mode: "shared" | "exclusive",
): Promise<void> {
  if (dialect.provider !== "postgresql") return;
  const key = `opencohort inclusions ${datasetId}`;
  if (mode === "shared") {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock_shared(hashtextextended(${key}, 0))`;
  } else {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${key}, 0))`;
  }
}
